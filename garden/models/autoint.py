"""AutoInt / AutoInt+ (Song et al., CIKM 2019): stacked self-attention over fields."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models.field_ranking import FieldRankingModel, flatten
from garden.registry import register_model
from layers.interacting_layer import InteractingLayer


@dataclasses.dataclass
class AutoIntConfig:
    embedding_dim: int = 16
    attention_layers: int = 3
    num_heads: int = 2
    head_dim: int = 16  # d' in the paper; each layer outputs num_heads * head_dim per field
    use_residual: bool = True
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [256, 128])  # []: AutoInt
    dropout: float = 0.0
    batch_norm: bool = False
    use_linear: bool = False  # the paper has none; DeepCTR adds a first-order term
    l2_embedding: float = 1e-6  # on the rows a batch looks up
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense
    use_sequences: bool = False  # mean-pool each behaviour sequence into one more field

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "attention_layers", "num_heads",
                       "head_dim", "hidden_units")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


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
