"""FFM (Juan et al., RecSys 2016): field-aware factorization machines."""
import dataclasses

import tensorflow as tf

from garden.models.fields import FieldConfig, FieldModel, field_features
from garden.registry import register_model
from layers.ffm import FieldAwareFM
from layers.linear import Linear


@dataclasses.dataclass
class FFMConfig(FieldConfig):
    """embedding_dim (k, per field pair), l2_embedding, features, use_sequences
    (garden/models/fields.py)."""
    embedding_dim: int = 8


class FFM(FieldModel):
    """logit = linear(ids, dense) + sum_{i<j} <v_{i,f_j}, v_{j,f_i}>.

    Each id has F embeddings of width k (one per field it can pair with), stored as one
    table row of F * k, so a field still costs one gather; the row's slice toward its own
    field is never used. Parameters grow as F * k per id, the reason FFM uses a small k.
    """

    def __init__(self, schema, task, cfg):
        ids, _, sequences = field_features(schema, cfg)
        num_fields = len(ids) + len(sequences)
        super().__init__(schema, task, cfg, field_dim=num_fields * cfg.embedding_dim)
        self.k = cfg.embedding_dim
        self.linear = Linear({f: schema.vocab_size(f) for f in self.ids})
        self.ffm = FieldAwareFM()

    def call(self, features, training=False):
        stacked = self.field_embeddings(features)  # [B, F, F * k]
        aware = tf.reshape(stacked, [-1, self.num_fields, self.num_fields, self.k])
        linear = self.linear(self.linear_ids(features), self.dense_values(features))
        return tf.squeeze(tf.cast(linear, tf.float32) + self.ffm(aware), axis=1)


@register_model("ffm", task="ranking", config=FFMConfig)
def build(schema, task, cfg):
    return FFM(schema, task, cfg)
