"""FiBiNET (Huang et al., RecSys 2019): SENet field importance + bilinear interactions + DNN."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models.field_ranking import FieldRankingModel, flatten
from garden.registry import register_model
from layers.bilinear_interaction import TYPES, BilinearInteraction
from layers.senet import SENet


@dataclasses.dataclass
class FiBiNETConfig:
    embedding_dim: int = 16
    reduction_ratio: int = 3  # SENet bottleneck: max(1, fields // reduction_ratio) units
    bilinear_type: str = "interaction"  # "all", "each" or "interaction" (one W per pair)
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [256, 128])
    dropout: float = 0.0
    batch_norm: bool = False
    l2_embedding: float = 1e-6  # on the rows a batch looks up
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense
    use_sequences: bool = False  # mean-pool each behaviour sequence into one more field

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "reduction_ratio", "hidden_units")
        if not self.hidden_units:
            raise ConfigError("model.hidden_units: FiBiNET's output is a DNN; list at least "
                              "one layer")
        if self.bilinear_type not in TYPES:
            raise ConfigError(f"model.bilinear_type must be one of {TYPES}, got "
                              f"{self.bilinear_type!r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


class FiBiNET(FieldRankingModel):
    """logit = linear(ids, dense) + w^T DNN([p, q, dense]) + b.

    p: bilinear interactions of the field embeddings E; q: those of the SENet-reweighed
    embeddings V = SENet(E). As in the paper's figure and DeepCTR, p and q come from two
    bilinear layers with their own weights. The linear part is the paper's eq. 12.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.senet = SENet(cfg.reduction_ratio)
        self.bilinear = BilinearInteraction(cfg.bilinear_type, name="bilinear")
        self.senet_bilinear = BilinearInteraction(cfg.bilinear_type, name="senet_bilinear")
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        stacked = self.field_embeddings(features)  # [B, F, k]
        dense = self.dense_values(features)
        p = self.bilinear(stacked)  # [B, F(F-1)/2, k]
        q = self.senet_bilinear(self.senet(stacked))
        combined = tf.concat([flatten(p), flatten(q)], axis=1)
        logit = (self.linear_logit(features, dense)
                 + self.logit(self.dnn_output(combined, dense, training)))
        return tf.squeeze(logit, axis=1)


@register_model("fibinet", task="ranking", config=FiBiNETConfig)
def build(schema, task, cfg):
    return FiBiNET(schema, task, cfg)
