"""FiBiNET (Huang et al., RecSys 2019): SENet field importance + bilinear interactions + DNN."""
import dataclasses

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models.field_ranking import FieldRankingModel, flatten
from garden.models.fields import DeepConfig
from garden.registry import register_model
from layers.bilinear_interaction import TYPES, BilinearInteraction
from layers.senet import SENet


@dataclasses.dataclass
class FiBiNETConfig(DeepConfig):
    """DeepConfig (field embeddings, DNN) plus SENet and the bilinear layers."""
    reduction_ratio: int = 3  # SENet bottleneck: max(1, fields // reduction_ratio) units
    bilinear_type: str = "interaction"  # "all", "each" or "interaction" (one W per pair)

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "reduction_ratio")
        if self.bilinear_type not in TYPES:
            raise ConfigError(f"model.bilinear_type must be one of {TYPES}, got "
                              f"{self.bilinear_type!r}")


class FiBiNET(FieldRankingModel):
    """logit = linear(ids, dense) + w^T DNN([p, q, dense]) + b.

    p: bilinear interactions of the field embeddings E; q: those of the SENet-reweighed
    embeddings V = SENet(E). As in the paper's figure and DeepCTR, p and q come from two
    bilinear layers with their own weights. The linear part is the paper's eq. 12.

    The DNN reads [flatten(p), flatten(q), dense] (10,413 wide on Criteo) as a list: the
    same input, first-layer kernel and values as one concatenated tensor, without writing
    the concatenation or slicing its gradient (see layers/mlp.py).
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
        parts = [flatten(p), flatten(q)] + ([] if dense is None else [dense])
        logit = (self.linear_logit(features, dense)
                 + self.logit(self.dnn(parts, training=training)))
        return tf.squeeze(logit, axis=1)


@register_model("fibinet", task="ranking", config=FiBiNETConfig)
def build(schema, task, cfg):
    return FiBiNET(schema, task, cfg)
