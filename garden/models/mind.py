"""MIND: Multi-Interest Network with Dynamic routing (Li et al., CIKM 2019)."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.models import heads
from garden.registry import register_model
from garden.tasks.retrieval import RetrievalModel
from layers.capsule_routing import CapsuleRouting
from layers.masking import masked_softmax
from layers.mlp import MLP
from layers.table_lookup import table_source


@dataclasses.dataclass
class MINDConfig:
    embedding_dim: int = 32
    user_features: List[str] = dataclasses.field(default_factory=list)  # empty: group "user"
    history: str = "hist_item_id"  # the behaviour sequence routed into interests
    num_interests: int = 4  # K, the most interest capsules a user gets
    routing_iterations: int = 3
    dynamic_interests: bool = True  # K'_u = max(1, min(K, floor(log2 |history|)))
    attention_power: float = 2.0  # p of the label-aware attention
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [128])
    head: str = "sampled_softmax"  # or nce, full_softmax
    num_sampled: int = 200
    sampler: str = "log_uniform"
    top_k: int = 100

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "num_interests", "routing_iterations",
                       "attention_power", "num_sampled", "top_k")
        heads.check_table_head(self)
        if any(u < 1 for u in self.hidden_units):
            raise ConfigError(f"model.hidden_units must be positive, got {self.hidden_units}")


class MIND(RetrievalModel):
    """Multi-interest extractor -> K user vectors; label-aware attention in training.

    - Behaviours (history item embeddings) are routed by CapsuleRouting (B2I) into up to K
      interest capsules.
    - Each capsule, concatenated with the user profile (user feature embeddings and dense
      user features), goes through the ReLU MLP and a linear projection to d: the user's
      interest vectors V_u [B, K, d].
    - Training: the target item's embedding e (the head's item table) attends over V_u:
      v = V_u softmax(pow(V_u^T e, p)), and v is trained with the head's loss. pow keeps
      the sign (sign(x) |x|^p): the paper writes pow(x, p), which for an even p would rank a
      strongly opposed interest as high as a matching one (DeepMatch uses tf.pow as is).
    - Serving (call): the K interest vectors; a capsule the user does not get (dynamic
      interest number) repeats the first one, so the union of per-interest top-K lists is
      unchanged. An item's score is its best score over the interests, so the top-K over
      all items is the top-K of the union of the per-interest top-K lists.
    """

    def __init__(self, schema, task, cfg):
        users = F.pick(schema, cfg.user_features, ("sparse", "dense"), group="user")
        history = F.pick(schema, [cfg.history], ("sequence",))
        super().__init__(users + history, task.item, cfg.top_k)
        self.schema, self.history_feature = schema, cfg.history
        self.num_interests, self.attention_power = cfg.num_interests, cfg.attention_power
        d = cfg.embedding_dim
        self.id_users, self.user_dense_features = F.fields(schema, users)
        self.embedding = F.embedding(schema, self.id_users + history, d)
        self.routing = CapsuleRouting(cfg.num_interests, d, cfg.routing_iterations,
                                      dynamic_interests=cfg.dynamic_interests,
                                      name="capsule_routing")
        self.mlp = MLP(cfg.hidden_units, name="mlp")
        self.projection = tf.keras.layers.Dense(d, name="interest_projection")
        self.head = heads.table_head(cfg, schema.vocab_size(task.item), d)
        self.head.build(tf.TensorShape([None, d]))  # call() never reaches the head

    def prepare(self, train_pattern):
        heads.prepare_unigram(self.head, self.schema, train_pattern, self.target)

    def interests(self, features, training=False):
        """(interest vectors [B, K, d], interest mask [B, K] bool)."""
        emb = self.embedding(features)
        capsules, mask = self.routing(emb[self.history_feature],
                                      F.sequence_mask(features, self.history_feature))
        profile = [emb[u] for u in self.id_users]
        dense = F.dense_input(features, self.user_dense_features)
        if dense is not None:
            profile.append(tf.cast(dense, self.compute_dtype))
        if profile:
            profile = tf.concat(profile, axis=-1)[:, None, :]
            profile = tf.tile(profile, [1, self.num_interests, 1])
            capsules = tf.concat([capsules, profile], axis=-1)
        return self.projection(self.mlp(capsules, training=training)), mask

    def call(self, features, training=False):
        vectors, mask = self.interests(features, training)
        return tf.where(mask[:, :, None], vectors, vectors[:, :1])

    def task_loss(self, batch, training):
        features, _ = batch
        vectors, mask = self.interests(features, training)
        targets = tf.cast(features[self.target], tf.int64)
        target_vectors = tf.gather(
            table_source(self.head.item_embeddings, self.head.dense_table_reads), targets)
        vectors = tf.cast(vectors, tf.float32)
        affinity = tf.einsum("bkd,bd->bk", vectors, target_vectors)
        affinity = tf.sign(affinity) * tf.pow(tf.abs(affinity), self.attention_power)
        weights = masked_softmax(affinity, mask)
        user = tf.einsum("bk,bkd->bd", weights, vectors)
        return tf.nn.compute_average_loss(self.head.loss(user, targets, training=training))

    @property
    def query_shape(self):
        return (self.num_interests, self.projection.units)

    def corpus_scores(self, query):
        query = tf.cast(query, tf.float32)
        k, d = query.shape[1], query.shape[2]
        logits = self.head(tf.reshape(query, [-1, d]))
        return tf.reduce_max(tf.reshape(logits, [-1, k, logits.shape[-1]]), axis=1)


@register_model("mind", task="retrieval", config=MINDConfig)
def build(schema, task, cfg):
    return MIND(schema, task, cfg)
