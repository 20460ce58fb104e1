"""AutoInt / AutoInt+ (Song et al., CIKM 2019): stacked self-attention over fields."""
import dataclasses

import tensorflow as tf

from garden.config import check_positive
from garden.models.field_ranking import FieldRankingModel, flatten
from garden.models.fields import DeepConfig
from garden.registry import register_model
from layers.interacting_layer import InteractingLayer


@dataclasses.dataclass
class AutoIntConfig(DeepConfig):
    """DeepConfig (field embeddings, optional DNN) plus the attention stack."""
    requires_dnn = False  # hidden_units: [] is plain AutoInt
    attention_layers: int = 3
    num_heads: int = 2
    head_dim: int = 16  # d' in the paper; each layer outputs num_heads * head_dim per field
    use_residual: bool = True
    use_linear: bool = False  # the paper has none; DeepCTR adds a first-order term

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "attention_layers", "num_heads", "head_dim")


class AutoInt(FieldRankingModel):
    """logit = w^T [flatten(attention stack(fields)), DNN(fields, dense)] + b (+ linear).

    AutoInt+ (hidden_units non-empty) adds the DNN branch and joins both in one output layer,
    as DeepCTR does. Dense values go into the DNN (and the linear term when use_linear), as in
    DeepCTR; the paper instead embeds each dense value as a field (v_m * x_m). So plain AutoInt
    (hidden_units: []) sees dense values only through the linear term.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg, use_linear=cfg.use_linear)
        self.attention = [InteractingLayer(cfg.num_heads, cfg.head_dim, cfg.use_residual,
                                           name=f"interacting_{i}")
                          for i in range(cfg.attention_layers)]
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        stacked = self.field_embeddings(features)  # [B, F, k]
        dense = self.dense_values(features)
        x = stacked
        for layer in self.attention:
            x = layer(x, training=training)  # [B, F, heads * head_dim]
        parts = [flatten(x)]
        if self.dnn is not None:
            parts.append(self.dnn_output(flatten(stacked), dense, training))
        logit = self.linear_logit(features, dense) + self.logit(tf.concat(parts, axis=1))
        return tf.squeeze(logit, axis=1)


@register_model("autoint", task="ranking", config=AutoIntConfig)
def build(schema, task, cfg):
    return AutoInt(schema, task, cfg)
