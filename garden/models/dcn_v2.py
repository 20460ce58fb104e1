"""DCN-V2 (Wang et al., WWW 2021, "DCN V2: Improved Deep & Cross Network and Practical Lessons
for Web-scale Learning to Rank Systems"): matrix, low-rank or mixture-of-experts crosses."""
import dataclasses

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models.fields import DeepConfig, FieldModel, flat_input
from garden.registry import register_model
from layers.cross import CrossNetwork
from layers.cross_mix import CrossMix
from layers.mlp import MLP

CROSSES = ("matrix", "low_rank", "mix")
STRUCTURES = ("stacked", "parallel")


@dataclasses.dataclass
class DCNv2Config(DeepConfig):
    """DeepConfig (garden/models/fields.py) plus the cross network and how it meets the MLP."""
    cross_layers: int = 3
    cross: str = "matrix"  # matrix: full W (eq. 1); low_rank: W = U V (eq. 2); mix: DCN-Mix
    projection_dim: int = 32  # rank r of low_rank and of every mix expert (paper: d/4 works)
    num_experts: int = 4  # mix only
    structure: str = "stacked"  # stacked: MLP(cross(x0)); parallel: [cross(x0), MLP(x0)]

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "cross_layers", "projection_dim", "num_experts")
        if self.cross not in CROSSES:
            raise ConfigError(f"model.cross must be one of {CROSSES}, got {self.cross!r}")
        if self.structure not in STRUCTURES:
            raise ConfigError(f"model.structure must be one of {STRUCTURES}, got "
                              f"{self.structure!r}")


class DCNv2(FieldModel):
    """x0 = [field embeddings, dense values]; stacked: logit = Dense(MLP(Cross(x0)));
    parallel: logit = Dense([Cross(x0), MLP(x0)]). The paper finds either can win depending
    on the data, so the structure is a config choice."""

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.structure = cfg.structure
        if cfg.cross == "mix":
            self.cross = CrossMix(cfg.cross_layers, cfg.num_experts, cfg.projection_dim)
        else:
            self.cross = CrossNetwork(cfg.cross_layers, kind=cfg.cross,
                                      projection_dim=cfg.projection_dim)
        self.deep = MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        x0 = flat_input(self.field_embeddings(features), self.dense_values(features))
        crossed = self.cross(x0)
        if self.structure == "stacked":
            top = self.deep(crossed, training=training)
        else:
            top = tf.concat([crossed, self.deep(x0, training=training)], axis=1)
        return tf.squeeze(self.logit(top), axis=1)


@register_model("dcn_v2", task="ranking", config=DCNv2Config)
def build(schema, task, cfg):
    return DCNv2(schema, task, cfg)
