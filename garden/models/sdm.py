"""SDM: Sequential Deep Matching (Lv et al., CIKM 2019)."""
import dataclasses
from typing import List

import tensorflow as tf

from garden.config import ConfigError, check_positive
from garden.models import features as F
from garden.models import heads
from garden.registry import register_model
from garden.tasks.retrieval import RetrievalModel
from layers.gated_fusion import GatedFusion
from layers.multi_head_attention import MultiHeadAttention
from layers.query_attention import QueryAttention
from layers.sampled_softmax import SampledSoftmax
from layers.unrolled_lstm import UnrolledLSTM
from layers import table_lookup


# Long-term attention over a table of at most this many rows is computed on the table's side
# (table_lookup.table_attention: cheaper than gathering [B, L, d] keys for small tables).
TABLE_ATTENTION_MAX_ROWS = 2048


@dataclasses.dataclass
class SDMConfig:
    embedding_dim: int = 32
    user_features: List[str] = dataclasses.field(default_factory=list)  # empty: group "user"
    # Item id sequence first, then its side information, aligned position by position.
    short_sequences: List[str] = dataclasses.field(default_factory=lambda: [
        "short_item_id", "short_cat_id", "short_brand_id", "short_shop_id"])
    long_sequences: List[str] = dataclasses.field(default_factory=lambda: [
        "long_item_id", "long_cat_id", "long_brand_id", "long_shop_id"])
    num_heads: int = 2
    dropout: float = 0.0
    num_sampled: int = 200
    sampler: str = "log_uniform"
    top_k: int = 100  # items returned by the exported serving_default signature

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "num_heads", "num_sampled", "top_k")
        if self.embedding_dim % self.num_heads:
            raise ConfigError(f"model.embedding_dim ({self.embedding_dim}) must be divisible "
                              f"by model.num_heads ({self.num_heads})")
        if not self.short_sequences or not self.long_sequences:
            raise ConfigError("model.short_sequences and model.long_sequences need at least "
                              "the item id sequence")


class SDM(RetrievalModel):
    """Query = gated fusion of short-term and long-term interest, scored by sampled softmax.

    - e_u: the user's profile embeddings, concatenated and projected to d.
    - Short-term: each item of the current session is the concatenation of its id and
      side-information embeddings; LSTM -> multi-head self-attention -> user attention
      (e_u attends over the positions) gives s.
    - Long-term: e_u attends over each side-information sequence of earlier sessions
      separately; the results are concatenated and fused by a dense tanh layer into p.
    - Gated fusion: g = sigmoid(W1 e_u + W2 s + W3 p + b), o = (1 - g) p + g s.
    Empty sessions or histories contribute zeros (masked attention), never NaN.

    Speed (same values and gradients up to float rounding): the long-term attention over a
    table of up to TABLE_ATTENTION_MAX_ROWS rows runs on the table's side
    (table_lookup.table_attention), and the session's embeddings come from
    table_lookup.gather, whose table gradients are dense. The session LSTM is an UnrolledLSTM
    (a Keras LSTM's weights, checkpoint path and math) fed input gates computed on the
    tables' side (_session_lstm): 21% less CPU per training step than the Keras LSTM over
    the concatenated embeddings, measured in one process on the benchmark's data.
    """

    def __init__(self, schema, task, cfg):
        users = F.pick(schema, cfg.user_features, ("sparse", "dense"), group="user")
        short = F.pick(schema, cfg.short_sequences, ("sequence",))
        long = F.pick(schema, cfg.long_sequences, ("sequence",))
        super().__init__(users + short + long, task.item, cfg.top_k)
        self.users, self.short, self.long = users, short, long
        d = cfg.embedding_dim
        self.id_users, self.user_dense_features = F.fields(schema, users)
        self.embedding = F.embedding(schema, self.id_users + short + long, d)
        self.user_projection = tf.keras.layers.Dense(d, name="user_projection")
        self.lstm = UnrolledLSTM(d, name="session_lstm")
        self.self_attention = MultiHeadAttention(cfg.num_heads, d // cfg.num_heads,
                                                 output_dim=d, dropout=cfg.dropout)
        self.user_attention = QueryAttention()
        self.long_fusion = tf.keras.layers.Dense(d, activation="tanh", name="long_fusion")
        self.gate = GatedFusion()
        self.head = SampledSoftmax(schema.vocab_size(task.item), d, cfg.num_sampled,
                                   cfg.sampler)
        self.schema = schema

    def prepare(self, train_pattern):
        heads.prepare_unigram(self.head, self.schema, train_pattern, self.target)

    def _table(self, feature):
        return self.embedding.embeddings[self.schema[feature].table]

    def _session_lstm(self, features):
        """The session LSTM's outputs [B, L, d]. Its input x_t is the concatenation of the
        item's embeddings, so x_t @ kernel = sum over features s of (table_s @ kernel_s)[id_s]
        (kernel_s: the kernel's rows for s): the projection runs on the tables' side, a few
        thousand rows instead of B x L. The LSTM runs unmasked: the session mask comes from
        lengths, so padded steps follow every valid one and cannot change its output, and
        the self-attention after it ignores padded positions."""
        tables = [self._table(s) for s in self.short]
        length = features[self.short[0]].shape[1]
        if not self.lstm.built:
            self.lstm.build(tf.TensorShape([None, length, sum(t.shape[1] for t in tables)]))
        kernel, start = self.lstm.cell.kernel, 0
        gates = self.lstm.cell.bias
        for s, table in zip(self.short, tables):
            width = table.shape[1]
            projected = tf.matmul(tf.cast(table, self.compute_dtype), kernel[start:start + width])
            gates = gates + table_lookup.gather(projected, features[s])
            start += width
        return self.lstm.recurrence(gates)

    def call(self, features, training=False):
        # Sequences are looked up here, not by self.embedding (it holds their tables), with
        # the same values and cheaper gradients: see layers/table_lookup.py.
        emb = self.embedding({u: features[u] for u in self.id_users})
        user_parts = [emb[u] for u in self.id_users]
        dense = F.dense_input(features, self.user_dense_features)
        if dense is not None:
            user_parts.append(tf.cast(dense, self.compute_dtype))
        e_u = self.user_projection(tf.concat(user_parts, axis=-1))

        short_mask = F.sequence_mask(features, self.short[0])
        hidden = self._session_lstm(features)
        hidden = self.self_attention(hidden, query_mask=short_mask, training=training)
        short = self.user_attention(e_u, hidden, short_mask)

        long_mask = F.sequence_mask(features, self.long[0])
        pooled = []
        for s in self.long:  # user attention over each side-information sequence
            table = self._table(s)
            if table.shape[0] <= TABLE_ATTENTION_MAX_ROWS:
                pooled.append(table_lookup.table_attention(e_u, table, features[s], long_mask))
            else:
                keys = tf.cast(table_lookup.gather(table, features[s]), self.compute_dtype)
                pooled.append(self.user_attention(e_u, keys, long_mask))
        long = self.long_fusion(tf.concat(pooled, axis=-1))
        return self.gate([e_u, short, long])


@register_model("sdm", task="retrieval", config=SDMConfig)
def build(schema, task, cfg):
    return SDM(schema, task, cfg)
