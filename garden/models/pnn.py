"""PNN (Qu et al., ICDM 2016, "Product-based Neural Networks for User Response Prediction"):
IPNN, OPNN and PNN*."""
import dataclasses

import tensorflow as tf

from garden.config import ConfigError
from garden.models.fields import DeepConfig, FieldModel, flat_input
from garden.registry import register_model
from layers.inner_product import InnerProduct
from layers.mlp import MLP
from layers.outer_product import OuterProduct

PRODUCTS = ("inner", "outer", "both")


@dataclasses.dataclass
class PNNConfig(DeepConfig):
    """DeepConfig (garden/models/fields.py) plus the product layer."""
    product: str = "inner"  # inner: IPNN; outer: OPNN; both: PNN*

    def __post_init__(self):
        super().__post_init__()
        if self.product not in PRODUCTS:
            raise ConfigError(f"model.product must be one of {PRODUCTS}, got {self.product!r}")


class PNN(FieldModel):
    """logit = Dense(MLP([z, p])): z the field embeddings and dense values, p the products.

    The paper's product layer output l_1 = relu(l_z + l_p + b_1) is linear in z and p before
    the relu, which is what the MLP's first Dense layer computes over their concatenation.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        self.products = []
        if cfg.product in ("inner", "both"):
            self.products.append(InnerProduct())
        if cfg.product in ("outer", "both"):
            self.products.append(OuterProduct())
        self.deep = MLP(cfg.hidden_units, dropout=cfg.dropout, batch_norm=cfg.batch_norm)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    def call(self, features, training=False):
        stacked = self.field_embeddings(features)
        z = flat_input(stacked, self.dense_values(features))
        deep_in = tf.concat([z] + [product(stacked) for product in self.products], axis=1)
        return tf.squeeze(self.logit(self.deep(deep_in, training=training)), axis=1)


@register_model("pnn", task="ranking", config=PNNConfig)
def build(schema, task, cfg):
    return PNN(schema, task, cfg)
