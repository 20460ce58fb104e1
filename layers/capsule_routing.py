"""CapsuleRouting: MIND's behaviour-to-interest (B2I) dynamic routing."""
import tensorflow as tf

from layers.masking import masked_softmax


@tf.keras.utils.register_keras_serializable(package="garden")
class CapsuleRouting(tf.keras.layers.Layer):
    """Behaviour-to-interest dynamic routing of MIND (Li et al., "Multi-Interest Network with
    Dynamic Routing for Recommendation at Tmall", CIKM 2019, section 4.2).

    Behaviour capsules e_i (a user's item embeddings) are routed to K interest capsules
    through one bilinear map S shared by all pairs (B2I's change to capsule routing):
        repeat `iterations` times:
            w_ij = softmax_j(b_ij)                over the user's interest capsules j
            z_j  = sum_i w_ij S e_i,   u_j = squash(z_j) = |z|^2 / (1 + |z|^2) z / |z|
            b_ij = b_ij + u_j . S e_i
    The routing logits b_ij start from N(0, init_stddev^2) draws: with one shared S, equal
    starts would give K equal capsules. The paper draws them afresh; the garden draws them
    once, as a non-trainable [K, L] weight, so that serving is deterministic (DeepMatch
    also keeps them in a weight but adds each batch's routing result to it, which the garden
    does not: a user's interests must not depend on earlier batches).
    Dynamic interest number (`dynamic_interests`): a user with n behaviours gets
    K'_u = max(1, min(K, floor(log2 n))) capsules; the others are masked.

    Call(behaviours [B, L, d_in], mask [B, L] bool) -> (interests [B, K, dim] in the compute
    dtype, interest_mask [B, K] bool). Padded behaviours get zero routing weight, so they
    never change the output; a user with no behaviours gets zero interest vectors.
    Routing runs in float32.
    """

    def __init__(self, num_interests=4, dim=32, iterations=3, init_stddev=1.0,
                 dynamic_interests=True, seed=0, **kwargs):
        super().__init__(**kwargs)
        if num_interests < 1 or dim < 1 or iterations < 1:
            raise ValueError(f"num_interests, dim and iterations must be >= 1, got "
                             f"{num_interests}, {dim}, {iterations}")
        self.num_interests = int(num_interests)
        self.dim = int(dim)
        self.iterations = int(iterations)
        self.init_stddev = float(init_stddev)
        self.dynamic_interests = bool(dynamic_interests)
        self.seed = int(seed)

    def build(self, input_shape):
        input_shape = tf.TensorShape(input_shape)
        if input_shape.rank != 3 or input_shape[1] is None:
            raise ValueError(f"behaviours must be [B, L, d] with a known L, got {input_shape}")
        self.bilinear = self.add_weight(
            name="bilinear", shape=(input_shape[-1], self.dim), dtype="float32",
            initializer=tf.keras.initializers.GlorotUniform(self.seed),
            experimental_autocast=False)
        self.routing_init = self.add_weight(
            name="routing_init", shape=(self.num_interests, input_shape[1]), dtype="float32",
            initializer=tf.keras.initializers.RandomNormal(stddev=self.init_stddev,
                                                           seed=self.seed),
            trainable=False, experimental_autocast=False)
        super().build(input_shape)

    def interest_mask(self, mask):
        """[B, K] bool: the capsules each user gets."""
        k = tf.range(self.num_interests)[None, :]
        if not self.dynamic_interests:
            return tf.broadcast_to(k >= 0, [tf.shape(mask)[0], self.num_interests])
        n = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)
        count = tf.floor(tf.math.log(tf.maximum(n, 1.0)) / tf.math.log(2.0))
        count = tf.clip_by_value(tf.cast(count, tf.int32), 1, self.num_interests)
        return k < count[:, None]

    def call(self, behaviours, mask):
        mask = tf.cast(mask, tf.bool)
        valid = tf.cast(mask, tf.float32)[:, :, None]
        mapped = tf.einsum("bld,de->ble", tf.cast(behaviours, tf.float32), self.bilinear)
        capsules = self.interest_mask(mask)
        logits = tf.tile(tf.transpose(self.routing_init)[None], [tf.shape(mapped)[0], 1, 1])
        for step in range(self.iterations):
            weights = masked_softmax(logits, capsules[:, None, :]) * valid  # [B, L, K]
            interests = _squash(tf.einsum("blk,ble->bke", weights, mapped))
            if step + 1 < self.iterations:
                logits += tf.einsum("bke,ble->blk", interests, mapped)
        return tf.cast(interests, self.compute_dtype), capsules

    def get_config(self):
        config = super().get_config()
        config.update(num_interests=self.num_interests, dim=self.dim,
                      iterations=self.iterations, init_stddev=self.init_stddev,
                      dynamic_interests=self.dynamic_interests, seed=self.seed)
        return config


def _squash(z):
    norm2 = tf.reduce_sum(tf.square(z), axis=-1, keepdims=True)
    return norm2 / (1.0 + norm2) * z / tf.sqrt(norm2 + 1e-9)
