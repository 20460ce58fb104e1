"""YouTube DNN candidate generation (Covington et al., RecSys 2016)."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.models import heads
from garden.registry import register_model
from garden.tasks.retrieval import RetrievalModel
from layers.mlp import MLP
from layers.table_lookup import pooled_lookup


@dataclasses.dataclass
class YouTubeDNNConfig:
    embedding_dim: int = 32
    user_features: List[str] = dataclasses.field(default_factory=list)  # empty: group "user"
    history: str = "hist_item_id"  # the watch history: a sequence sharing the item table
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [128])
    dropout: float = 0.0
    head: str = "sampled_softmax"  # or nce, full_softmax (garden/models/heads.py)
    num_sampled: int = 200
    sampler: str = "log_uniform"
    top_k: int = 100  # items returned by the exported serving_default signature

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "num_sampled", "top_k")
        heads.check_table_head(self)
        if not self.history:
            raise ConfigError("model.history must name the behaviour sequence")
        if any(u < 1 for u in self.hidden_units):
            raise ConfigError(f"model.hidden_units must be positive, got {self.hidden_units}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


class YouTubeDNN(RetrievalModel):
    """Query = MLP(mean-pooled history embeddings ++ user feature embeddings ++ dense user
    features), projected linearly to the item vector size and scored against every item by
    the head (sampled softmax in the paper). An empty history pools to zeros."""

    def __init__(self, schema, task, cfg):
        users = F.pick(schema, cfg.user_features, ("sparse", "dense"), group="user")
        history = F.pick(schema, [cfg.history], ("sequence",))
        super().__init__(users + history, task.item, cfg.top_k)
        self.schema, self.history_feature = schema, cfg.history
        d = cfg.embedding_dim
        self.id_users, self.user_dense_features = F.fields(schema, users)
        self.embedding = F.embedding(schema, self.id_users + history, d)
        self.mlp = MLP(cfg.hidden_units, dropout=cfg.dropout, name="mlp")
        self.projection = tf.keras.layers.Dense(d, name="query_projection")
        self.head = heads.table_head(cfg, schema.vocab_size(task.item), d)

    def prepare(self, train_pattern):
        heads.prepare_unigram(self.head, self.schema, train_pattern, self.target)

    def call(self, features, training=False):
        history = self.history_feature
        emb = self.embedding({k: v for k, v in features.items() if k != history})
        parts = [emb[u] for u in self.id_users]
        # The history's mean embedding straight from its table (the same masked mean as
        # SequencePooling over its embeddings, faster to train: see layers/table_lookup.py).
        table = self.embedding.embeddings[self.schema[history].table]
        pooled = pooled_lookup(table, features[history], F.sequence_mask(features, history))
        parts.append(tf.cast(pooled, self.compute_dtype))
        dense = F.dense_input(features, self.user_dense_features)
        if dense is not None:
            parts.append(tf.cast(dense, self.compute_dtype))
        return self.projection(self.mlp(tf.concat(parts, axis=-1), training=training))


@register_model("youtube_dnn", task="retrieval", config=YouTubeDNNConfig)
def build(schema, task, cfg):
    return YouTubeDNN(schema, task, cfg)
