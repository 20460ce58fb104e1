"""SampledSoftmax: a softmax head over an item vocabulary, sampled in training."""
import tensorflow as tf

from layers.full_softmax import FullSoftmax
from layers.table_lookup import table_source

SAMPLERS = ("log_uniform", "uniform", "unigram")


@tf.keras.utils.register_keras_serializable(package="garden")
class SampledSoftmax(FullSoftmax):
    """Scores a query vector against every item: logit_i = <q, w_i> + b_i.

    Training uses tf.nn.sampled_softmax_loss (Jean et al., ACL 2015): the target against
    `num_sampled` items drawn by the sampler, with the logQ correction that
    sampled_softmax_loss applies and accidental hits removed. Evaluation uses the full softmax.

    Item 0 is padding/OOV: it is never sampled, never a target, and scores the dtype's
    minimum in `call`, so it never appears in a top-K.

    Args:
      num_items: vocabulary size including row 0.
      dim: size of the query and item vectors.
      num_sampled: negatives per batch.
      sampler: "log_uniform" (ids are popularity ranks, as the garden's vocabularies are),
        "uniform", or "unigram": proportional to count + 1 (add-one, so an item unseen in
        training can still be a target), drawn with replacement. The counts, one per item id
        (row 0 ignored), live in the non-trainable weight `item_counts`: from
        `unigram_counts` if given, else set with `set_unigram_counts` (a model's
        prepare(train_pattern) does it from the training data), so they are checkpointed.
    Call(query [B, dim]) -> logits [B, num_items] float32.
    loss(query [B, dim], targets [B] int, training) -> per-example loss [B] float32.
    """

    def __init__(self, num_items, dim, num_sampled=100, sampler="log_uniform",
                 unigram_counts=None, remove_accidental_hits=True, **kwargs):
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
        if num_items < 2 or not 1 <= num_sampled < num_items:
            raise ValueError(f"need num_items >= 2 and 1 <= num_sampled < num_items, got "
                             f"num_items={num_items}, num_sampled={num_sampled}")
        if sampler != "unigram" and unigram_counts is not None:
            raise ValueError("unigram_counts is only used by sampler='unigram'")
        if unigram_counts is not None and len(unigram_counts) != num_items:
            raise ValueError(f"unigram_counts needs {num_items} entries, got "
                             f"{len(unigram_counts)}")
        super().__init__(num_items, dim, **kwargs)
        self.num_sampled = int(num_sampled)
        self.sampler = sampler
        self.unigram_counts = (None if unigram_counts is None
                               else [float(c) for c in unigram_counts])
        self.remove_accidental_hits = bool(remove_accidental_hits)

    def build(self, input_shape):
        # The item table and biases are FullSoftmax's; the unigram sampler adds its counts.
        if self.sampler == "unigram":
            self.item_counts = self.add_weight(
                name="item_counts", shape=(self.num_items,), dtype="float32", trainable=False,
                initializer=tf.keras.initializers.Constant(self.unigram_counts or 0.0),
                experimental_autocast=False)
        super().build(input_shape)

    def set_unigram_counts(self, counts):
        """Stores the per-item training counts the unigram sampler draws from."""
        if self.sampler != "unigram":
            raise ValueError(f"set_unigram_counts needs sampler='unigram', not {self.sampler!r}")
        if len(counts) != self.num_items:
            raise ValueError(f"unigram counts need {self.num_items} entries, got {len(counts)}")
        if not self.built:
            self.build(tf.TensorShape([None, self.dim]))
        self.item_counts.assign(tf.cast(counts, tf.float32))

    def loss(self, query, targets, training=False):
        if not self.built:  # training may call loss() before the layer was ever called
            self.build(query.shape)
        query = tf.cast(query, tf.float32)
        targets = tf.cast(targets, tf.int64)
        if not training:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(targets, self(query))
        labels = targets[:, None]
        sampled, true_expected, sampled_expected = self._sample(labels - 1)
        return tf.nn.sampled_softmax_loss(
            table_source(self.item_embeddings, self.dense_table_reads),
            table_source(self.item_biases, self.dense_table_reads), labels, query,
            self.num_sampled, self.num_items,
            sampled_values=(sampled + 1, true_expected, sampled_expected),
            remove_accidental_hits=self.remove_accidental_hits)

    def _sample(self, shifted_labels):
        """Draws from ids 1..num_items-1 (shifted to 0..num_items-2, so padding is excluded)."""
        common = dict(true_classes=shifted_labels, num_true=1, num_sampled=self.num_sampled,
                      unique=True, range_max=self.num_items - 1)
        if self.sampler == "log_uniform":
            return tf.random.log_uniform_candidate_sampler(**common)
        if self.sampler == "uniform":
            return tf.random.uniform_candidate_sampler(**common)
        # From the counts variable (fixed_unigram_candidate_sampler wants Python floats):
        # with replacement, so the expected count of an item is num_sampled * p.
        probs = self.item_counts[1:] + 1.0
        probs = probs / tf.reduce_sum(probs)
        sampled = tf.random.categorical(tf.math.log(probs)[None, :], self.num_sampled,
                                        dtype=tf.int64)[0]
        return (sampled, self.num_sampled * tf.gather(probs, shifted_labels),
                self.num_sampled * tf.gather(probs, sampled))

    def get_config(self):
        config = super().get_config()
        config.update(num_sampled=self.num_sampled,
                      sampler=self.sampler, unigram_counts=self.unigram_counts,
                      remove_accidental_hits=self.remove_accidental_hits)
        return config
