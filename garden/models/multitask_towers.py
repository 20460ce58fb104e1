"""What MMoE, PLE and ESMM share: embedded fields in, one tower and logit per task out."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.tasks.multitask import MultiTaskRankingModel
from garden.tasks.ranking import weight_feature
from layers.mlp import MLP
from layers.sequence_pooling import SequencePooling


@dataclasses.dataclass
class TowersConfig:
    embedding_dim: int = 16
    tower_units: List[int] = dataclasses.field(default_factory=lambda: [64])
    dropout: float = 0.0
    l2_embedding: float = 1e-6  # on the rows a batch looks up
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense
    use_sequences: bool = False  # mean-pool each behaviour sequence into one more field

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "tower_units")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


class TaskTowers(MultiTaskRankingModel):
    """x = concat(field embeddings, pooled sequences, dense values), shared by every task;
    `task_inputs(x)` (the subclass: experts and gates, or x itself) gives one representation
    per task, each read by its own MLP tower and float32 Dense(1) logit.

    call(features) -> {task label: logit [B]}; `tower_logits` is the same before any
    subclass combines them (ESMM).
    """

    def __init__(self, schema, task, cfg):
        ids, dense = F.fields(schema, cfg.features)
        sequences = F.pooled_sequences(schema) if cfg.use_sequences else []
        super().__init__(ids + dense + sequences, task, schema, weight_feature(schema))
        self.ids, self.dense, self.sequences = ids, dense, sequences
        self.embedding = F.embedding(schema, ids + sequences, cfg.embedding_dim,
                                     cfg.l2_embedding)
        self.pooling = SequencePooling("mean")
        self.towers = [MLP(cfg.tower_units, dropout=cfg.dropout, name=f"{label}_tower")
                       for label in self.labels]
        self.logit_layers = [tf.keras.layers.Dense(1, dtype="float32", name=f"{label}_logit")
                             for label in self.labels]

    def task_inputs(self, x, training):
        """One [B, n_t] representation per task, in task order."""
        raise NotImplementedError

    def tower_logits(self, features, training=False):
        embedded = self.embedding(features)
        x = F.concat_fields(features, embedded, self.ids, self.sequences, self.dense,
                            self.pooling)
        logits = {}
        for label, h, tower, logit in zip(self.labels, self.task_inputs(x, training),
                                          self.towers, self.logit_layers):
            logits[label] = tf.squeeze(logit(tower(h, training=training)), axis=1)
        return logits

    def call(self, features, training=False):
        return self.tower_logits(features, training)
