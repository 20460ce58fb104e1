"""The shared front end of the field-embedding CTR models (FM, FFM, DeepFM, WDL, DCN, PNN).

Every sparse feature is one field with one embedding; with `use_sequences` each behaviour
sequence, mean-pooled, is one more field; dense features stay a [B, n] vector beside them.
"""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.tasks.ranking import RankingModel, weight_feature
from layers.sequence_pooling import SequencePooling


@dataclasses.dataclass
class FieldConfig:
    embedding_dim: int = 16
    l2_embedding: float = 1e-6  # on the rows a batch looks up
    # Embeddings start uniform in [-scale, scale] (0.05: Keras's "uniform").
    embedding_init_scale: float = 0.05
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense
    use_sequences: bool = False  # mean-pool each behaviour sequence into one more field

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim")
        if self.l2_embedding < 0:
            raise ConfigError(f"model.l2_embedding must be >= 0, got {self.l2_embedding}")
        check_positive(self, "model", "embedding_init_scale")


@dataclasses.dataclass
class DeepConfig(FieldConfig):
    """FieldConfig plus the MLP the deep models put over the field embeddings."""
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [256, 128])
    dropout: float = 0.0
    batch_norm: bool = False
    # A class attribute, not a key: models with a "no DNN" ablation (xDeepFM's CIN + linear,
    # plain AutoInt) set it False and read an empty hidden_units as "no DNN".
    requires_dnn = True

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "hidden_units")
        if self.requires_dnn and not self.hidden_units:
            raise ConfigError("model.hidden_units must list at least one layer width")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


def field_features(schema, cfg):
    """(id features, dense features, sequences) a FieldConfig selects; the fields are the id
    features, then the sequences."""
    ids, dense = F.fields(schema, cfg.features)
    sequences = F.pooled_sequences(schema) if cfg.use_sequences else []
    if not ids + sequences:
        raise ConfigError("model.features: this model needs at least one sparse feature "
                          f"(the schema's sparse features: "
                          f"{[s.name for s in schema.of_kind('sparse')]})")
    return ids, dense, sequences


class FieldModel(RankingModel):
    """A RankingModel over field embeddings [B, F, dim] and the dense values [B, n].

    `field_dim` overrides the embedding width (FFM stores one embedding per other field in one
    row of F * embedding_dim). Subclasses implement call(features, training) -> logits [B].
    """

    def __init__(self, schema, task, cfg, field_dim=None):
        ids, dense, sequences = field_features(schema, cfg)
        super().__init__(ids + dense + sequences, task.label, weight_feature(schema))
        self.ids, self.dense, self.sequences = ids, dense, sequences
        scale = cfg.embedding_init_scale
        self.embedding = F.embedding(
            schema, ids + sequences, field_dim or cfg.embedding_dim, cfg.l2_embedding,
            initializer=tf.keras.initializers.RandomUniform(-scale, scale))
        self.pooling = SequencePooling("mean")

    @property
    def num_fields(self):
        return len(self.ids) + len(self.sequences)

    def field_embeddings(self, features):
        """[B, F, dim]: the id fields in schema order, then the pooled sequences."""
        emb = self.embedding(features)
        fields = [emb[f] for f in self.ids]
        fields += [self.pooling(emb[s], F.sequence_mask(features, s)) for s in self.sequences]
        return tf.stack(fields, axis=1)

    def dense_values(self, features):
        """[B, n] float32, or None when the model reads no dense feature."""
        return F.dense_input(features, self.dense)

    def linear_ids(self, features):
        """The id features the first-order (Linear) term weighs."""
        return {f: features[f] for f in self.ids}


def flat_input(stacked, dense):
    """[B, F * dim] field embeddings, with the dense values appended when there are any."""
    flat = tf.reshape(stacked, [-1, stacked.shape[1] * stacked.shape[2]])
    if dense is None:
        return flat
    return tf.concat([flat, tf.cast(dense, flat.dtype)], axis=1)
