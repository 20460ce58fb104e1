"""DCN (Wang et al., ADKDD 2017, "Deep & Cross Network for Ad Click Predictions")."""
import dataclasses

import tensorflow as tf

from garden.config import check_positive
from garden.models.fields import DeepConfig, FieldModel, flat_input
from garden.registry import register_model
from layers.cross import CrossNetwork
from layers.linear import Linear
from layers.mlp import MLP


@dataclasses.dataclass
class DCNConfig(DeepConfig):
    """DeepConfig (garden/models/fields.py) plus the depth of the cross network."""
    cross_layers: int = 3
    use_linear: bool = False  # the paper has none; DeepCTR adds a first-order term

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "cross_layers")


class DCN(FieldModel):
    """logit = Dense([CrossNetwork(x0), MLP(x0)]) (+ linear), x0 = [field embeddings, dense].

    The cross network has vector weights (x_{l+1} = x0 (x_l . w_l) + b_l + x_l) and runs in
    parallel with the deep network, as in the paper; DCN-V2's matrix crosses are `dcn_v2`.
    use_linear adds DeepCTR's first-order term over the ids and dense values.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.cross = CrossNetwork(cfg.cross_layers, kind="vector")
        self.deep = MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")
        self.linear = (Linear({f: schema.vocab_size(f) for f in self.ids}) if cfg.use_linear
                       else None)

    def call(self, features, training=False):
        dense = self.dense_values(features)
        x0 = flat_input(self.field_embeddings(features), dense)
        both = tf.concat([self.cross(x0), self.deep(x0, training=training)], axis=1)
        logit = self.logit(both)
        if self.linear is not None:
            logit += tf.cast(self.linear(self.linear_ids(features), dense), tf.float32)
        return tf.squeeze(logit, axis=1)


@register_model("dcn", task="ranking", config=DCNConfig)
def build(schema, task, cfg):
    return DCN(schema, task, cfg)
