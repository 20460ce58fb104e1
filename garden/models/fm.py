"""FM (Rendle, ICDM 2010): a linear model plus the pairwise inner products of field
embeddings, computed in O(F k)."""
import dataclasses

import tensorflow as tf

from garden.models.fields import FieldConfig, FieldModel
from garden.registry import register_model
from layers.fm import FactorizationMachine
from layers.linear import Linear


@dataclasses.dataclass
class FMConfig(FieldConfig):
    """embedding_dim, l2_embedding, features, use_sequences (garden/models/fields.py)."""


class FM(FieldModel):
    """logit = linear(ids, dense) + sum_{i<j} <v_i, v_j> over the id fields.

    Dense values enter the linear term only (DeepFM does the same), so the second-order term
    is over one-hot fields, where FM's x_i x_j factors are all 1.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.linear = Linear({f: schema.vocab_size(f) for f in self.ids})
        self.fm = FactorizationMachine()

    def call(self, features, training=False):
        linear = self.linear(self.linear_ids(features), self.dense_values(features))
        logit = tf.cast(linear, tf.float32) + self.fm(self.field_embeddings(features))
        return tf.squeeze(logit, axis=1)


@register_model("fm", task="ranking", config=FMConfig)
def build(schema, task, cfg):
    return FM(schema, task, cfg)
