"""NegativeSampling: skip-gram's negative-sampling objective, and its scores as a retrieval head."""
import numpy as np
import tensorflow as tf

from layers.table_lookup import table_source


@tf.keras.utils.register_keras_serializable(package="garden")
class NegativeSampling(tf.keras.layers.Layer):
    """Context vectors c_i of skip-gram with negative sampling (Mikolov et al., NIPS 2013).

    loss(centers v [N, dim], contexts [N] int, negatives [N, k] int) -> [N] float32:
        -log sigmoid(v . c_context) - sum_j log sigmoid(-v . c_negative_j)
    Negatives come from `sample_negatives`, the noise distribution P_n(i) ~ count_i **
    `distortion` (0.75 in word2vec), set from item counts by `set_counts` and kept in the
    non-trainable variable `log_noise` (checkpointed: scoring needs it too).

    call(query [B, dim]) -> logits over every item [B, num_items] float32: q . c_i, plus
    log P_n(i) when `noise_correction`. At its optimum skip-gram makes v_a . c_b = log(P(b | a)
    / (k P_n(b))) (Levy and Goldberg, NIPS 2014), so adding log P_n(b) ranks items by the
    estimated P(b | a) instead of a popularity-free association. Item 0 (padding) and items
    of zero count (never sampled, never trained) score the float32 minimum either way.

    Args:
      num_items: vocabulary size including row 0.
      dim: size of the vectors.
      distortion: exponent of the counts in the noise distribution.
      noise_correction: add log P_n(i) to the scores in `call`.
    Before `set_counts`, the noise distribution is uniform over items 1..num_items-1.
    Everything runs in float32 (inputs are cast), under mixed precision too.
    """

    # Set by GardenModel.compile when the optimizer updates tables densely: gather from the
    # table's value, not the variable (see layers/table_lookup.table_source).
    dense_table_reads = False

    def __init__(self, num_items, dim, distortion=0.75, noise_correction=True, **kwargs):
        super().__init__(**kwargs)
        if num_items < 2 or dim < 1:
            raise ValueError(f"need num_items >= 2 and dim >= 1, got {num_items}, {dim}")
        if not distortion > 0:
            raise ValueError(f"distortion must be > 0, got {distortion}")
        self.num_items = int(num_items)
        self.dim = int(dim)
        self.distortion = float(distortion)
        self.noise_correction = bool(noise_correction)

    def build(self, input_shape=None):
        # Zeros, as word2vec starts its output vectors: the input vectors carry the randomness.
        self.context_embeddings = self.add_weight(
            name="context_embeddings", shape=(self.num_items, self.dim), dtype="float32",
            initializer="zeros", experimental_autocast=False)
        self.log_noise = self.add_weight(
            name="log_noise", shape=(self.num_items,), dtype="float32", trainable=False,
            initializer=tf.keras.initializers.Constant(self._log_noise(
                np.concatenate([[0.0], np.ones(self.num_items - 1)]))),
            experimental_autocast=False)
        super().build(input_shape)

    def _log_noise(self, counts):
        weights = np.asarray(counts, np.float64) ** self.distortion
        weights[0] = 0.0
        total = weights.sum()
        if not total > 0:
            raise ValueError("set_counts: every item count is zero")
        with np.errstate(divide="ignore"):
            log = np.log(weights / total)
        return np.where(weights > 0, log, np.finfo(np.float32).min).astype(np.float32)

    def set_counts(self, counts):
        """Sets the noise distribution from per-item counts ([num_items], row 0 ignored)."""
        if len(counts) != self.num_items:
            raise ValueError(f"set_counts needs {self.num_items} counts, got {len(counts)}")
        if not self.built:
            self.build()
        self.log_noise.assign(self._log_noise(counts))

    def sample_negatives(self, num, k):
        """[num, k] int64 item ids drawn independently from the noise distribution."""
        if not self.built:
            self.build()
        draws = tf.random.categorical(self.log_noise[None, :], num * k, dtype=tf.int64)
        return tf.reshape(draws, [num, k])

    def call(self, query):
        logits = tf.matmul(tf.cast(query, tf.float32), self.context_embeddings,
                           transpose_b=True)
        known = self.log_noise > self.log_noise.dtype.min
        if self.noise_correction:
            logits = logits + tf.where(known, self.log_noise, 0.0)
        return tf.where(known, logits, logits.dtype.min)

    def loss(self, centers, contexts, negatives):
        if not self.built:
            self.build()
        centers = tf.cast(centers, tf.float32)
        table = table_source(self.context_embeddings, self.dense_table_reads)
        positive = tf.gather(table, contexts)  # [N, dim]
        negative = tf.gather(table, negatives)  # [N, k, dim]
        positive_logit = tf.reduce_sum(centers * positive, axis=-1)
        negative_logits = tf.einsum("nd,nkd->nk", centers, negative)
        return tf.nn.softplus(-positive_logit) + tf.reduce_sum(
            tf.nn.softplus(negative_logits), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update(num_items=self.num_items, dim=self.dim, distortion=self.distortion,
                      noise_correction=self.noise_correction)
        return config
