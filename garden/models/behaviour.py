"""What the behaviour-sequence CTR models (DIN, DIEN, DSIN, BST) share.

Each reads the profile/context fields (every sparse and dense feature, as DeepFM), the
candidate item (its id, category and brand embeddings concatenated: the query) and the same
features of the user's most recent `hist_len` behaviours (the keys), and feeds
[profile fields, query, interest] to an MLP with a float32 logit. Subclasses compute the
interest vector from query and keys.

With `fm: true` (the default) the logit also gets DeepFM's linear and FM terms over the id
fields (candidate included) and dense values, which the papers do not have: on this data
the crosses (age x price, gender x category, city x shop) carry more signal than the recent
behaviour, an MLP alone learns them slowly, and with the FM part a sequence model differs
from DeepFM (use_sequences: false) by its sequence module alone, so that comparing the two
measures what the sequence adds. `fm: false` gives the papers' MLP-only models.
"""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.tasks.ranking import RankingModel, weight_feature
from layers.fm import FactorizationMachine
from layers.linear import Linear
from layers.mlp import MLP


@dataclasses.dataclass
class BehaviourConfig:
    embedding_dim: int = 16
    features: List[str] = dataclasses.field(default_factory=list)  # empty: every sparse/dense
    # Behaviour sequences, aligned position by position; each shares the table of its
    # candidate feature (hist_item_id -> item_id ...), which forms the query.
    behaviours: List[str] = dataclasses.field(default_factory=lambda: [
        "hist_item_id", "hist_cat_id", "hist_brand_id"])
    hist_len: int = 20  # the most recent events read (the click model looks at the last 10)
    hidden_units: List[int] = dataclasses.field(default_factory=lambda: [200, 80])
    activation: str = "relu"  # of the output MLP; "dice" for DIN's
    dropout: float = 0.0
    l2_embedding: float = 1e-6  # on the rows a batch looks up (DIN's mini-batch aware L2)
    fm: bool = True  # add DeepFM's linear + FM terms over the id fields (not in the papers)

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "hist_len", "hidden_units")
        if not self.behaviours:
            raise ConfigError("model.behaviours needs at least the item id sequence")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"model.dropout must be in [0, 1), got {self.dropout}")


class BehaviourModel(RankingModel):
    """logit = Dense(MLP([profile fields, query, interest(query, keys, mask)]))
    [+ linear(ids, dense) + FM(id fields) with fm].

    Keys are oldest first and left-aligned; subclasses that want the latest behaviour at
    position 0 set newest_first.
    """
    newest_first = False

    def __init__(self, schema, task, cfg, extra_features=()):
        ids, dense = F.fields(schema, cfg.features)
        behaviours = F.pick(schema, cfg.behaviours, ("sequence",))
        targets = []
        for b in behaviours:
            owner = schema[b].shared_with
            if not owner or schema[owner].kind != "sparse":
                raise ValueError(f"behaviour sequence {b!r} must share the table of a sparse "
                                 f"candidate feature (shared_with), got {owner!r}")
            targets.append(owner)
        super().__init__(sorted(set(ids + dense + targets + behaviours + list(extra_features))),
                         task.label, weight_feature(schema))
        self.cfg = cfg
        self.ids, self.dense, self.behaviours, self.targets = ids, dense, behaviours, targets
        self.embedding = F.embedding(schema, sorted(set(ids + targets)) + behaviours,
                                     cfg.embedding_dim, cfg.l2_embedding)
        if cfg.fm:
            self.linear = Linear({f: schema.vocab_size(f) for f in ids})
            self.fm = FactorizationMachine()
        self.mlp = MLP(cfg.hidden_units, activation=cfg.activation, dropout=cfg.dropout)
        self.logit = tf.keras.layers.Dense(1, dtype="float32", name="logit")

    @property
    def item_dim(self):
        """Width of the query and of each behaviour: the candidate's embeddings concatenated."""
        return self.cfg.embedding_dim * len(self.behaviours)

    def interest(self, query, keys, mask, features, training):
        """[B, n] interest vector(s) of the user with respect to the candidate."""
        raise NotImplementedError

    def call(self, features, training=False):
        recent, mask = F.recent_events(features, self.behaviours, self.cfg.hist_len,
                                       self.newest_first)
        emb = self.embedding({**{f: features[f] for f in set(self.ids + self.targets)},
                              **recent})
        query = tf.concat([emb[t] for t in self.targets], axis=-1)  # [B, D]
        keys = tf.concat([emb[b] for b in self.behaviours], axis=-1)  # [B, L, D]
        parts = [emb[f] for f in self.ids if f not in self.targets] + [query]
        parts.append(self.interest(query, keys, mask, features, training))
        dense = F.dense_input(features, self.dense)
        if dense is not None:
            parts.append(tf.cast(dense, self.compute_dtype))
        deep_in = tf.concat([tf.cast(p, self.compute_dtype) for p in parts], axis=-1)
        logit = self.logit(self.mlp(deep_in, training=training))
        if self.cfg.fm:
            linear = self.linear({f: features[f] for f in self.ids}, dense)
            logit += tf.cast(linear, tf.float32) + self.fm(tf.stack([emb[f] for f in self.ids],
                                                                    axis=1))
        return tf.squeeze(logit, axis=1)
