"""Logistic regression over the id features and the dense values: the CTR baseline."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.models import features as F
from garden.registry import register_model
from garden.tasks.ranking import RankingModel, weight_feature
from layers.linear import Linear


@dataclasses.dataclass
class LRConfig:
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense


class LR(RankingModel):
    """logit = b + sum_f w_f[id_f] + <w, dense>: one weight per id (one-hot features) and
    per dense value, no interaction between features."""

    def __init__(self, schema, task, cfg):
        ids, dense = F.fields(schema, cfg.features)
        super().__init__(ids + dense, task.label, weight_feature(schema))
        self.ids, self.dense = ids, dense
        self.linear = Linear({f: schema.vocab_size(f) for f in ids})

    def call(self, features, training=False):
        dense = F.dense_input(features, self.dense)
        logit = self.linear({f: features[f] for f in self.ids}, dense)
        return tf.squeeze(tf.cast(logit, tf.float32), axis=1)


@register_model("lr", task="ranking", config=LRConfig)
def build(schema, task, cfg):
    return LR(schema, task, cfg)
