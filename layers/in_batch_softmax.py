"""InBatchSoftmax: a two-tower head whose negatives are the batch's own items."""
import tensorflow as tf

from layers.frequency_estimator import FrequencyEstimator


@tf.keras.utils.register_keras_serializable(package="garden")
class InBatchSoftmax(tf.keras.layers.Layer):
    """Softmax of each query over the items of its batch (Yi et al., RecSys 2019), optionally
    mixed with uniformly drawn corpus items (mixed negative sampling, Yang et al., WWW 2020).

    The candidates of query i are every target item of the batch, plus `num_negatives` items
    drawn uniformly from ids 1..num_items-1 (shared by the batch); its label is its own
    target. Score s(q, v) = <q, v> / temperature, with q and v L2-normalized when
    `normalize` (then temperature sets how peaked the softmax can get).
    - logQ correction (`logq_correction`): popular items are negatives more often than
      their share of the softmax; each candidate's logit is lowered by log of its expected
      number of appearances among the candidates of a step, so the trained scores estimate
      the full softmax. In-batch items appear p(y) times per step, p from the streaming
      FrequencyEstimator; with mixed negatives a candidate is also drawn uniformly
      num_negatives / (num_items - 1) times, so the correction is log of the sum (the
      mixture proposal; the MNS paper leaves the correction of the mixture open).
      Without it the head learns about log p(item | query) - log p(item): it retrieves the
      tail far more than full softmax does (tools/logq_study.py measures both).
    - Accidental hits (`remove_accidental_hits`): a candidate with the same item id as the
      query's target, other than the target itself, is not a negative and is masked out.
    Serving uses no correction: call([query, item_vectors]) scores every item.

    Under a synchronous distribution strategy (MirroredStrategy, MultiWorkerMirrored, TPU)
    with more than one replica, `loss` runs in each replica on its shard of the global batch;
    it gathers every replica's target vectors, ids and (through the ids) logQ estimates with
    `ReplicaContext.all_gather`, so each query is scored against the whole global batch's
    items, as on one device. all_gather's gradient sums the replicas' gradients of the
    gathered tensor and hands each replica its own slice, so every item vector gets the
    gradient of the global loss. The frequency estimator is updated with the gathered ids
    by every replica alike and keeps the first replica's update (its variables aggregate
    ONLY_FIRST_REPLICA): it counts the global batch once per step, as on one device. Mixed
    negatives stay per replica: each replica draws its own `num_negatives` uniform items and
    its queries score the global batch's items plus those (the logQ mixture term stays
    num_negatives / (num_items - 1)). With one replica, or outside strategy.run, nothing is
    gathered (the single-device path is unchanged).

    Args:
      temperature: > 0, divides the scores.
      normalize: L2-normalize queries and items.
      logq_correction, remove_accidental_hits: see above.
      num_negatives: uniform corpus negatives per step (0: in-batch only).
      num_items: item vocabulary size including row 0 (needed when num_negatives > 0).
      num_buckets, num_hashes, alpha: of the FrequencyEstimator.
    loss(query [B, d], item_vectors [B, d], item_ids [B], training, negative_vectors
      [M, d], negative_ids [M]) -> per-example loss [B] float32; updates the estimator in
      training.
    call([query [B, d], item_vectors [N, d]]) -> scores [B, N] float32.
    sample_negatives() -> [num_negatives] int64 ids, uniform over 1..num_items-1.
    """

    def __init__(self, temperature=0.05, normalize=True, logq_correction=True,
                 remove_accidental_hits=True, num_negatives=0, num_items=0,
                 num_buckets=1 << 16, num_hashes=2, alpha=0.01, **kwargs):
        super().__init__(**kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if num_negatives < 0 or (num_negatives and num_items < 2):
            raise ValueError(f"num_negatives > 0 needs num_items >= 2, got num_negatives="
                             f"{num_negatives}, num_items={num_items}")
        self.temperature = float(temperature)
        self.normalize = bool(normalize)
        self.logq_correction = bool(logq_correction)
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.num_negatives = int(num_negatives)
        self.num_items = int(num_items)
        self.num_buckets, self.num_hashes, self.alpha = int(num_buckets), int(num_hashes), \
            float(alpha)
        self.estimator = FrequencyEstimator(num_buckets, num_hashes, alpha,
                                            name="frequency_estimator", dtype=self.dtype_policy) \
            if self.logq_correction else None

    def _scores(self, query, items):
        query, items = tf.cast(query, tf.float32), tf.cast(items, tf.float32)
        if self.normalize:
            query, items = tf.math.l2_normalize(query, -1), tf.math.l2_normalize(items, -1)
        return tf.matmul(query, items, transpose_b=True) / self.temperature

    def call(self, inputs):
        query, item_vectors = inputs
        return self._scores(query, item_vectors)

    def sample_negatives(self):
        return tf.random.uniform([self.num_negatives], 1, self.num_items, dtype=tf.int64)

    def loss(self, query, item_vectors, item_ids, training=False, negative_vectors=None,
             negative_ids=None):
        item_ids = tf.cast(tf.reshape(item_ids, [-1]), tf.int64)
        candidates, candidate_ids, offset = _global_batch(item_vectors, item_ids)
        batch_ids = candidate_ids  # the global batch's targets
        if self.num_negatives:
            if negative_vectors is None:
                raise ValueError("num_negatives > 0: pass negative_vectors and negative_ids")
            candidates = tf.concat([candidates, negative_vectors], axis=0)
            candidate_ids = tf.concat([candidate_ids, tf.cast(negative_ids, tf.int64)], axis=0)
        logits = self._scores(query, candidates)
        if self.logq_correction:
            if training:
                self.estimator.update(batch_ids)
            expected = self.estimator(candidate_ids)
            if self.num_negatives:
                expected += self.num_negatives / (self.num_items - 1)
            logits -= tf.math.log(expected)[None, :]
        labels = offset + tf.range(tf.shape(item_ids)[0])  # own target among the candidates
        if self.remove_accidental_hits:
            same = tf.equal(item_ids[:, None], candidate_ids[None, :])
            own = tf.one_hot(labels, tf.shape(candidate_ids)[0], on_value=True,
                             off_value=False)
            logits = tf.where(same & ~own, logits.dtype.min, logits)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature, normalize=self.normalize,
                      logq_correction=self.logq_correction,
                      remove_accidental_hits=self.remove_accidental_hits,
                      num_negatives=self.num_negatives, num_items=self.num_items,
                      num_buckets=self.num_buckets, num_hashes=self.num_hashes,
                      alpha=self.alpha)
        return config


def _global_batch(item_vectors, item_ids):
    """(vectors, ids) of the global batch's items and the offset of this replica's first one
    among them; the inputs themselves and 0 with one replica or outside a replica."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return item_vectors, item_ids, 0
    # Replicas' shards may differ in size (the last batch of an epoch): the offset is the sum
    # of the sizes of the replicas before this one.
    sizes = context.all_gather(tf.shape(item_ids)[:1], axis=0)
    offset = tf.reduce_sum(sizes[:context.replica_id_in_sync_group])
    return (context.all_gather(item_vectors, axis=0), context.all_gather(item_ids, axis=0),
            offset)
