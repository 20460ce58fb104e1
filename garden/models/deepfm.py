"""DeepFM (Guo et al., IJCAI 2017): FM and a DNN over shared field embeddings."""
import dataclasses

import tensorflow as tf

from garden.models.fields import DeepConfig, FieldModel, flat_input
from garden.registry import register_model
from layers.fm import FactorizationMachine
from layers.linear import Linear
from layers.mlp import MLP


@dataclasses.dataclass
class DeepFMConfig(DeepConfig):
    """embedding_dim, l2_embedding, features, use_sequences, hidden_units, dropout, batch_norm
    (garden/models/fields.py)."""


class DeepFM(FieldModel):
    """logit = linear(ids, dense) + FM(field embeddings) + DNN(field embeddings, dense).

    The linear part weighs every id and dense value; FM takes the pairwise inner products of
    the id fields (pooled sequences included when use_sequences); the DNN reads the same
    embeddings, flattened, plus the dense values, as in the paper's shared-embedding design.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.linear = Linear({f: schema.vocab_size(f) for f in self.ids})
        self.fm = FactorizationMachine()
        self.dnn = MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        stacked = self.field_embeddings(features)  # [B, F, k]
        dense = self.dense_values(features)
        linear = self.linear(self.linear_ids(features), dense)
        deep = self.dnn(flat_input(stacked, dense), training=training)
        logit = tf.cast(linear, tf.float32) + self.fm(stacked) + self.logit(deep)
        return tf.squeeze(logit, axis=1)


@register_model("deepfm", task="ranking", config=DeepFMConfig)
def build(schema, task, cfg):
    return DeepFM(schema, task, cfg)
