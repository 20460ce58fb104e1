"""EGES: Enhanced Graph Embedding with Side information (Wang et al., KDD 2018)."""
import dataclasses
from typing import List

import numpy as np
import tensorflow as tf

from garden.config import ConfigError
from garden.models import features as F
from garden.models import skipgram
from garden.registry import register_model
from layers.side_info_aggregation import SideInfoAggregation


@dataclasses.dataclass
class EGESConfig(skipgram.WalkConfig):
    # Side information of the target item, one sparse feature each, in the training records.
    side_features: List[str] = dataclasses.field(
        default_factory=lambda: ["cat_id", "brand_id", "shop_id"])
    # Item catalog (CSV with an item id column and one column per side feature) beside the
    # training files: side information of items that never occur in training. "" = none.
    catalog: str = "items.csv"

    def __post_init__(self):
        super().__post_init__()
        if not self.side_features:
            raise ConfigError("model.side_features needs at least one side feature")


class EGES(skipgram.SkipGramModel):
    """Skip-gram over weighted walks on the transition graph (as deepwalk), with an item's
    input vector H_v the per-item softmax-weighted average of its id and side-information
    embeddings (SideInfoAggregation); context vectors stay per item id, as in the paper.

    Items of zero training count are cold: H_v is the mean of their side-information
    embeddings, so a query built from a new item still lands among its category/brand/shop.
    The item -> side information table and the training counts are non-trainable variables
    (checkpointed and exported): serving needs only the user's item ids.
    """

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        for name in cfg.side_features:
            if name not in schema or schema[name].kind != "sparse":
                raise ConfigError(f"model.side_features: {name!r} must be a sparse feature "
                                  "of the schema")
        self.fields = [task.item] + list(cfg.side_features)
        self.embedding = F.embedding(schema, self.fields, cfg.embedding_dim)
        self.aggregation = SideInfoAggregation(self.num_items, len(self.fields))
        self.side_info = tf.Variable(tf.zeros([self.num_items, len(cfg.side_features)],
                                              tf.int64), trainable=False, name="side_info")
        self.item_counts = tf.Variable(tf.zeros([self.num_items]), trainable=False,
                                       name="item_counts")

    def read_names(self):
        return super().read_names() + list(self.cfg.side_features)

    def prepare_columns(self, columns, train_pattern):
        super().prepare_columns(columns, train_pattern)
        items = columns[self.target]
        table = np.zeros([self.num_items, len(self.cfg.side_features)], np.int64)
        path = skipgram.catalog_path(train_pattern, self.cfg.catalog)
        if path:
            table = self._read_catalog(path, table)
        for j, name in enumerate(self.cfg.side_features):
            table[items, j] = columns[name]  # what training saw wins over the catalog
        self.side_info.assign(table)
        self.item_counts.assign(np.bincount(items, minlength=self.num_items).astype(np.float32))

    def _read_catalog(self, path, table):
        with open(path, encoding="utf-8") as f:
            header = f.readline().strip().split(",")
        needed = [self.target] + list(self.cfg.side_features)
        missing = [n for n in needed if n not in header]
        if missing:
            raise ValueError(f"{path}: catalog lacks the column(s) {missing}; has {header}")
        values = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2,
                            usecols=[header.index(n) for n in needed])
        ids = values[:, 0]
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_items):
            raise ValueError(f"{path}: item ids must lie in [0, {self.num_items})")
        table[ids] = values[:, 1:]
        return table

    def training_pairs(self, columns, num_items):
        return skipgram.walk_pairs(columns, self.cfg, self.target, num_items)

    def item_vectors(self, ids):
        ids = tf.cast(ids, tf.int64)
        side = tf.gather(self.side_info, ids)
        inputs = {self.target: ids}
        for j, name in enumerate(self.cfg.side_features):
            inputs[name] = side[..., j]
        emb = self.embedding(inputs)
        stacked = tf.stack([emb[n] for n in self.fields], axis=-2)  # [..., fields, d]
        cold = tf.gather(self.item_counts, ids) <= 0
        return self.aggregation(stacked, ids, cold)


@register_model("eges", task="retrieval", config=EGESConfig)
def build(schema, task, cfg):
    return EGES(schema, task, cfg)
