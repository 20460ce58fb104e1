"""FieldRankingModel: the inputs every field-interaction CTR model shares.

xDeepFM, FiBiNET and AutoInt all read the same things: one embedding per id field, stacked
into [B, F, k] (behaviour sequences mean-pooled into one more field each when asked), the
dense values, a first-order linear term, and a DNN over the flattened fields and dense values.
They differ only in the interaction part, which each subclass adds in call().
"""
import tensorflow as tf

from garden.models.fields import FieldModel
from layers.linear import Linear
from layers.mlp import MLP


class FieldRankingModel(FieldModel):
    """Base for ranking models over stacked field embeddings; see the module docstring.

    `cfg` is a garden.models.fields.DeepConfig; an empty hidden_units (allowed where the
    config sets requires_dnn = False) means no DNN (self.dnn is None).
    """

    def __init__(self, schema, task, cfg, use_linear=True):
        super().__init__(schema, task, cfg)
        if self.num_fields < 2:
            raise ValueError(f"{type(self).__name__} interacts fields and needs at least two "
                             f"id features, got {self.ids + self.sequences}")
        self.linear = (Linear({f: schema.vocab_size(f) for f in self.ids}) if use_linear
                       else None)
        self.dnn = (MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
                    if cfg.hidden_units else None)

    def linear_logit(self, features, dense):
        """[B, 1] float32 first-order term (0.0 without a linear part)."""
        if self.linear is None:
            return tf.constant(0.0)
        return tf.cast(self.linear({f: features[f] for f in self.ids}, dense), tf.float32)

    def dnn_output(self, flat_fields, dense, training):
        """The DNN over [flattened fields, dense values]: [B, hidden_units[-1]]."""
        if dense is not None:
            flat_fields = tf.concat([flat_fields, tf.cast(dense, flat_fields.dtype)], axis=1)
        return self.dnn(flat_fields, training=training)


def flatten(x):
    """[B, a, b] -> [B, a*b] with static inner sizes."""
    return tf.reshape(x, [-1, x.shape[1] * x.shape[2]])
