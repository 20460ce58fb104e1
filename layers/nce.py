"""NCE: a noise-contrastive estimation head over an item vocabulary."""
import tensorflow as tf

from layers.sampled_softmax import SampledSoftmax
from layers.table_lookup import table_source


@tf.keras.utils.register_keras_serializable(package="garden")
class NCE(SampledSoftmax):
    """Noise-contrastive estimation (Gutmann & Hyvarinen, AISTATS 2010; Mnih & Teh, ICML
    2012) through tf.nn.nce_loss: each example is a binary classification of its target
    against `num_sampled` noise items, with logits corrected by log(expected noise count),
    so that <q, w_i> + b_i approaches the log-probability of item i without a normalizer.

    Same table, samplers, arguments and padding rules as SampledSoftmax (item 0 is never
    sampled nor ranked); evaluation uses the full softmax cross-entropy, like SampledSoftmax,
    so eval losses of the two heads compare. `remove_accidental_hits` defaults to False here
    as in tf.nn.nce_loss (a noise sample equal to the target is then a negative, as NCE's
    derivation assumes).
    Call(query [B, dim]) -> logits [B, num_items] float32.
    loss(query [B, dim], targets [B] int, training) -> per-example loss [B] float32.
    """

    def __init__(self, num_items, dim, num_sampled=100, sampler="log_uniform",
                 unigram_counts=None, remove_accidental_hits=False, **kwargs):
        super().__init__(num_items, dim, num_sampled, sampler, unigram_counts,
                         remove_accidental_hits, **kwargs)

    def loss(self, query, targets, training=False):
        if not training:
            return super().loss(query, targets, training=False)
        if not self.built:
            self.build(query.shape)
        query = tf.cast(query, tf.float32)
        labels = tf.cast(targets, tf.int64)[:, None]
        sampled, true_expected, sampled_expected = self._sample(labels - 1)
        return tf.nn.nce_loss(
            table_source(self.item_embeddings, self.dense_table_reads),
            table_source(self.item_biases, self.dense_table_reads), labels, query,
            self.num_sampled, self.num_items,
            sampled_values=(sampled + 1, true_expected, sampled_expected),
            remove_accidental_hits=self.remove_accidental_hits)
