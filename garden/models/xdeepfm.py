"""xDeepFM (Lian et al., KDD 2018): linear + CIN + DNN over shared field embeddings."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models.field_ranking import FieldRankingModel, flatten
from garden.models.fields import DeepConfig
from garden.registry import register_model
from layers.cin import CIN


@dataclasses.dataclass
class XDeepFMConfig(DeepConfig):
    """DeepConfig (field embeddings, optional DNN) plus the CIN."""
    requires_dnn = False  # hidden_units: [] is the paper's CIN + linear
    cin_layer_sizes: List[int] = dataclasses.field(default_factory=lambda: [128, 128])
    cin_split_half: bool = True  # the paper's code and DeepCTR; False: the paper's text
    cin_activation: str = "linear"  # the paper (text and code); DeepCTR uses relu

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "cin_layer_sizes")
        if not self.cin_layer_sizes:
            raise ConfigError("model.cin_layer_sizes must list at least one layer")
        if self.cin_split_half and any(s % 2 for s in self.cin_layer_sizes[:-1]):
            raise ConfigError(f"model.cin_layer_sizes {self.cin_layer_sizes}: with "
                              f"model.cin_split_half every size but the last must be even")
        try:
            tf.keras.activations.get(self.cin_activation)
        except ValueError:
            raise ConfigError(f"model.cin_activation: unknown Keras activation "
                              f"{self.cin_activation!r}") from None


class XDeepFM(FieldRankingModel):
    """logit = linear(ids, dense) + w^T [CIN(fields), DNN(fields, dense)] + b.

    The CIN learns explicit vector-wise interactions up to degree len(cin_layer_sizes) + 1;
    the DNN implicit bit-wise ones; both read the same embeddings, as in the paper (eq. 10).
    Dense values feed the linear part and the DNN, not the CIN (which takes fields only).
    An empty hidden_units drops the DNN (the paper's "CIN + linear" ablation).
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.cin = CIN(cfg.cin_layer_sizes, split_half=cfg.cin_split_half,
                       activation=cfg.cin_activation)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        stacked = self.field_embeddings(features)  # [B, F, k]
        dense = self.dense_values(features)
        parts = [self.cin(stacked)]
        if self.dnn is not None:
            parts.append(self.dnn_output(flatten(stacked), dense, training))
        logit = self.linear_logit(features, dense) + self.logit(tf.concat(parts, axis=1))
        return tf.squeeze(logit, axis=1)


@register_model("xdeepfm", task="ranking", config=XDeepFMConfig)
def build(schema, task, cfg):
    return XDeepFM(schema, task, cfg)
