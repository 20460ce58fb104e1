"""DeepFM (Guo et al., IJCAI 2017): FM and a DNN over shared field embeddings."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.registry import register_model
from garden.tasks.ranking import RankingModel, weight_feature
from layers.fm import FactorizationMachine
from layers.linear import Linear
from layers.mlp import MLP
from layers.sequence_pooling import SequencePooling


@dataclasses.dataclass
class DeepFMConfig:
    embedding_dim: int = 16
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [256, 128])
    dropout: float = 0.0
    batch_norm: bool = False
    l2_embedding: float = 1e-6  # on the rows a batch looks up
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense
    use_sequences: bool = False  # mean-pool each behaviour sequence into one more field

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "hidden_units")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


class DeepFM(RankingModel):
    """logit = linear(ids, dense) + FM(field embeddings) + DNN(field embeddings, dense).

    The linear part weighs every id and dense value; FM takes the pairwise inner products of
    the id fields (pooled sequences included when use_sequences); the DNN reads the same
    embeddings, flattened, plus the dense values, as in the paper's shared-embedding design.
    """

    def __init__(self, schema, task, cfg):
        ids, dense = F.fields(schema, cfg.features)
        sequences = F.pick(schema, None, ("sequence",)) if cfg.use_sequences else []
        super().__init__(ids + dense + sequences, task.label, weight_feature(schema))
        self.ids, self.dense, self.sequences = ids, dense, sequences
        self.embedding = F.embedding(schema, ids + sequences, cfg.embedding_dim,
                                     cfg.l2_embedding)
        self.linear = Linear({f: schema.vocab_size(f) for f in ids})
        self.fm = FactorizationMachine()
        self.pooling = SequencePooling("mean")
        self.dnn = MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        emb = self.embedding(features)
        fields = [emb[f] for f in self.ids]
        fields += [self.pooling(emb[s], F.sequence_mask(features, s)) for s in self.sequences]
        stacked = tf.stack(fields, axis=1)  # [B, F, k]
        dense = F.dense_input(features, self.dense)
        linear = self.linear({f: features[f] for f in self.ids}, dense)
        deep_in = tf.reshape(stacked, [-1, stacked.shape[1] * stacked.shape[2]])
        if dense is not None:
            deep_in = tf.concat([deep_in, tf.cast(dense, deep_in.dtype)], axis=1)
        logit = (tf.cast(linear, tf.float32) + self.fm(stacked)
                 + self.logit(self.dnn(deep_in, training=training)))
        return tf.squeeze(logit, axis=1)


@register_model("deepfm", task="ranking", config=DeepFMConfig)
def build(schema, task, cfg):
    return DeepFM(schema, task, cfg)
