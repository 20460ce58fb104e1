"""Two-tower retrieval (DSSM-style; Huang et al., CIKM 2013; Yi et al., RecSys 2019)."""
import dataclasses
from typing import List

import numpy as np
import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.registry import register_model
from garden.tasks.retrieval import RetrievalModel
from layers.in_batch_softmax import InBatchSoftmax
from layers.mlp import MLP
from layers.sequence_pooling import SequencePooling

HEADS = ("in_batch", "mixed", "full_softmax")


@dataclasses.dataclass
class TwoTowerConfig:
    embedding_dim: int = 32
    user_features: List[str] = dataclasses.field(default_factory=list)  # empty: group "user"
    history: str = "hist_item_id"  # mean-pooled into the user tower ("" for none)
    # The item id first, then its side information, all sparse features of the target item.
    item_features: List[str] = dataclasses.field(default_factory=lambda: [
        "item_id", "cat_id", "brand_id", "shop_id"])
    user_hidden_units: List[int] = dataclasses.field(default_factory=lambda: [128])
    item_hidden_units: List[int] = dataclasses.field(default_factory=lambda: [128])
    # in_batch: the batch's items are the negatives; mixed: plus num_negatives uniform corpus
    # items; full_softmax: every item of the corpus (the item tower runs over all of them
    # each step: small corpora only).
    head: str = "in_batch"
    temperature: float = 0.05
    normalize: bool = True  # L2-normalized towers (cosine / temperature)
    logq_correction: bool = True  # in_batch and mixed: streaming frequency estimate
    remove_accidental_hits: bool = True
    num_negatives: int = 256  # mixed only
    top_k: int = 100

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "temperature", "num_negatives", "top_k")
        if self.head not in HEADS:
            raise ConfigError(f"model.head must be one of {HEADS}, got {self.head!r}")
        if not self.item_features:
            raise ConfigError("model.item_features needs at least the item id")
        for key in ("user_hidden_units", "item_hidden_units"):
            if any(u < 1 for u in getattr(self, key)):
                raise ConfigError(f"model.{key} must be positive, got {getattr(self, key)}")


class TwoTower(RetrievalModel):
    """User tower: user feature embeddings ++ mean-pooled history ++ dense user features ->
    MLP -> d. Item tower: embeddings of the item id and its side features -> MLP -> d.
    Embedding tables are shared between the towers (the history and the item id look up the
    same item table).

    The item tower reads an item's side features from `item_feature_table` ([num_items,
    len(item_features)], non-trainable, checkpointed), which prepare(train_pattern) fills
    from the training examples: scoring the whole corpus needs every item's features, not
    only the batch's. Items never seen in training keep their id and 0 (padding) side
    features.
    """

    def __init__(self, schema, task, cfg):
        users = F.pick(schema, cfg.user_features, ("sparse", "dense"), group="user")
        history = F.pick(schema, [cfg.history], ("sequence",)) if cfg.history else []
        item_features = F.pick(schema, cfg.item_features, ("sparse",))
        if item_features[0] != task.item:
            raise ConfigError(f"model.item_features must start with the item id "
                              f"{task.item!r}, got {item_features}")
        super().__init__(users + history, task.item, cfg.top_k)
        self.schema, self.item_features = schema, item_features
        self.history_feature = cfg.history
        self.head_kind = cfg.head
        d = cfg.embedding_dim
        self.num_items = schema.vocab_size(task.item)
        self.id_users, self.user_dense_features = F.fields(schema, users)
        self.embedding = F.embedding(schema, self.id_users + history + item_features, d)
        self.pooling = SequencePooling("mean")
        self.user_mlp = MLP(cfg.user_hidden_units, name="user_mlp")
        self.user_projection = tf.keras.layers.Dense(d, name="user_projection")
        self.item_mlp = MLP(cfg.item_hidden_units, name="item_mlp")
        self.item_projection = tf.keras.layers.Dense(d, name="item_projection")
        self.head = InBatchSoftmax(
            cfg.temperature, cfg.normalize,
            logq_correction=cfg.logq_correction and cfg.head != "full_softmax",
            remove_accidental_hits=cfg.remove_accidental_hits,
            num_negatives=cfg.num_negatives if cfg.head == "mixed" else 0,
            num_items=self.num_items, name="head")
        table = np.zeros([self.num_items, len(item_features)], np.int64)
        table[:, 0] = np.arange(self.num_items)
        self.item_feature_table = tf.Variable(table, trainable=False,
                                              name="item_feature_table")

    def prepare(self, train_pattern):
        from input.reader import list_files, parse_batch  # noqa: the reader, only here
        table = self.item_feature_table.numpy()
        ds = tf.data.TFRecordDataset(list_files(train_pattern), num_parallel_reads=4)
        ds = ds.batch(8192).map(lambda s: parse_batch(self.schema, s,
                                                      names=self.item_features)[0])
        for batch in ds:
            ids = batch[self.target].numpy()
            for j, name in enumerate(self.item_features[1:], start=1):
                table[ids, j] = batch[name].numpy()
        self.item_feature_table.assign(table)

    def call(self, features, training=False):
        emb = self.embedding(features)
        parts = [emb[u] for u in self.id_users]
        if self.history_feature:
            parts.append(self.pooling(emb[self.history_feature],
                                      F.sequence_mask(features, self.history_feature)))
        dense = F.dense_input(features, self.user_dense_features)
        if dense is not None:
            parts.append(tf.cast(dense, self.compute_dtype))
        hidden = self.user_mlp(tf.concat(parts, axis=-1), training=training)
        return self.user_projection(hidden)

    @property
    def query_shape(self):
        return (self.user_projection.units,)

    def item_tower(self, ids, training=False):
        """Item ids [n] -> item vectors [n, d]."""
        rows = tf.gather(self.item_feature_table, tf.cast(ids, tf.int64))
        emb = self.embedding({name: rows[:, j] for j, name in enumerate(self.item_features)})
        hidden = tf.concat([emb[name] for name in self.item_features], axis=-1)
        return self.item_projection(self.item_mlp(hidden, training=training))

    def task_loss(self, batch, training):
        features, _ = batch
        query = self(features, training=training)
        targets = tf.cast(features[self.target], tf.int64)
        if self.head_kind == "full_softmax":
            logits = self.corpus_scores(query, training=training)
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
        else:
            negatives = negative_vectors = None
            if self.head_kind == "mixed":
                negatives = self.head.sample_negatives()
                negative_vectors = self.item_tower(negatives, training=training)
            per_example = self.head.loss(query, self.item_tower(targets, training=training),
                                         targets, training=training,
                                         negative_vectors=negative_vectors,
                                         negative_ids=negatives)
        return tf.nn.compute_average_loss(per_example)

    def corpus_scores(self, query, training=False):
        logits = self.head([query, self.item_tower(tf.range(self.num_items), training)])
        return tf.where(tf.range(self.num_items) > 0, logits, logits.dtype.min)

    def index_items(self):
        items = tf.cast(self.item_tower(tf.range(self.num_items)), tf.float32)
        return tf.math.l2_normalize(items, -1) if self.head.normalize else items

    def index_queries(self, query):
        query = tf.cast(query, tf.float32)
        if self.head.normalize:
            query = tf.math.l2_normalize(query, -1)
        return query / self.head.temperature


@register_model("two_tower", task="retrieval", config=TwoTowerConfig)
def build(schema, task, cfg):
    return TwoTower(schema, task, cfg)
