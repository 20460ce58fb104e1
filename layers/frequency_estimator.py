"""FrequencyEstimator: streaming estimate of how often each item appears per training step."""
import tensorflow as tf

# Multipliers and offsets of the hash functions h_i(y) = ((a_i y + b_i) mod P) mod buckets.
_PRIME = 2_147_483_647  # 2**31 - 1
_MULTIPLIERS = (1_000_003, 998_244_353, 1_234_567_891, 780_291_637)
_OFFSETS = (12_345, 67_890, 424_242, 999_331)


@tf.keras.utils.register_keras_serializable(package="garden")
class FrequencyEstimator(tf.keras.layers.Layer):
    """The streaming frequency estimator of Yi et al., "Sampling-Bias-Corrected Neural
    Modeling for Large Corpus Item Recommendations" (RecSys 2019), Algorithms 1 and 2.

    For each of `num_hashes` hash functions it keeps two arrays over `num_buckets`:
    A, the last training step at which an item of the bucket was seen, and B, an exponential
    moving average of the gap between sightings:
        B[h(y)] <- (1 - alpha) B[h(y)] + alpha (t - A[h(y)]);   A[h(y)] <- t.
    The estimated probability of the item in a step is 1 / B. Hash collisions only make a
    bucket look more frequent (gaps shorter), so across hash functions the largest gap is
    the best estimate (Algorithm 2), as the minimum is in a count-min sketch:
        p(y) = 1 / max_i B_i[h_i(y)].

    The paper's Algorithm 1 walks the batch item by item, so an item seen c times in one
    step gets one update with its gap and c - 1 updates with gap 0; `update` applies those c
    updates at once, B <- (1-alpha)^c B + alpha (1-alpha)^(c-1) (t - A). p is then the
    expected number of appearances per step (it exceeds 1 for items in every batch).
    The paper does not say how B starts: here a bucket's first sighting at step t sets B to
    t (one sighting in t steps), and a bucket never seen reads as gap = steps so far.

    update(ids [n] int) at every training step; call(ids [n] int) -> p [n] float32
    (> 0). The arrays are non-trainable weights, checkpointed with the model. Under a
    synchronous distribution strategy they aggregate ONLY_FIRST_REPLICA: every replica must
    update with the same ids (InBatchSoftmax passes the global batch's), and the first
    replica's update is applied to every copy, once per step.
    """

    def __init__(self, num_buckets=1 << 16, num_hashes=2, alpha=0.01, **kwargs):
        super().__init__(**kwargs)
        if num_buckets < 1:
            raise ValueError(f"num_buckets must be >= 1, got {num_buckets}")
        if not 1 <= num_hashes <= len(_MULTIPLIERS):
            raise ValueError(f"num_hashes must be in 1..{len(_MULTIPLIERS)}, got {num_hashes}")
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.num_buckets = int(num_buckets)
        self.num_hashes = int(num_hashes)
        self.alpha = float(alpha)
        # The arrays' shapes depend on the arguments only, so they are created now (under the
        # caller's strategy scope). Created lazily inside the first traced step of a
        # MirroredStrategy, next to InBatchSoftmax's all_gather, they made tf.function fall
        # back to conditional initialization, which failed ("must feed a value for
        # placeholder").
        self.build()

    def build(self, input_shape=None):
        size = self.num_hashes * self.num_buckets  # the hash arrays, flattened
        common = dict(trainable=False, initializer="zeros", experimental_autocast=False,
                      aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        self.step = self.add_weight(name="step", shape=(), dtype="int64", **common)
        self.last_step = self.add_weight(name="last_step", shape=(size,), dtype="int64",
                                         **common)
        self.gap = self.add_weight(name="gap", shape=(size,), dtype="float32", **common)
        super().build(input_shape)

    def _keys(self, ids):
        """[num_hashes, n] positions of the ids in the flattened arrays."""
        ids = tf.cast(tf.reshape(ids, [-1]), tf.int64)
        keys = []
        for i in range(self.num_hashes):
            bucket = (_MULTIPLIERS[i] * ids + _OFFSETS[i]) % _PRIME % self.num_buckets
            keys.append(bucket + i * self.num_buckets)
        return tf.stack(keys)

    def update(self, ids):
        step = self.step.assign_add(1)
        keys, _, counts = tf.unique_with_counts(tf.reshape(self._keys(ids), [-1]))
        last = tf.gather(self.last_step, keys)
        gap = tf.gather(self.gap, keys)
        decay = tf.pow(1.0 - self.alpha, tf.cast(counts, tf.float32))
        elapsed = tf.cast(step - last, tf.float32)
        moved = decay * gap + self.alpha * decay / (1.0 - self.alpha) * elapsed
        first = decay / (1.0 - self.alpha) * tf.cast(step, tf.float32)
        new_gap = tf.where(last > 0, moved, first)
        # scatter_update of IndexedSlices, not scatter_nd_update: mirrored variables lack the
        # latter (NotImplementedError), the former keeps the first replica's update.
        self.gap.scatter_update(tf.IndexedSlices(new_gap, keys))
        self.last_step.scatter_update(tf.IndexedSlices(tf.fill(tf.shape(last), step), keys))

    def call(self, ids):
        keys = self._keys(ids)[..., None]
        seen = tf.gather_nd(self.last_step, keys) > 0
        steps = tf.cast(tf.maximum(self.step, 1), tf.float32)
        gap = tf.where(seen, tf.gather_nd(self.gap, keys), steps)
        largest = tf.reduce_max(gap, axis=0)
        return 1.0 / tf.maximum(largest, 1e-6)

    def get_config(self):
        config = super().get_config()
        config.update(num_buckets=self.num_buckets, num_hashes=self.num_hashes,
                      alpha=self.alpha)
        return config
