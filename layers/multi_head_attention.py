"""MultiHeadAttention: mask-aware scaled dot-product attention with several heads."""
import math

import tensorflow as tf

from layers.masking import masked_softmax


@tf.keras.utils.register_keras_serializable(package="garden")
class MultiHeadAttention(tf.keras.layers.Layer):
    """Multi-head attention (Vaswani et al., NeurIPS 2017), as used by SDM, AutoInt and BST.

    head_i = softmax(Q_i K_i^T / sqrt(head_dim)) V_i with Q_i = x W_i^Q, K_i = y W_i^K,
    V_i = y W_i^V; output = concat(head_1..head_h) W^O (W^O omitted if output_dim is 0).

    Call(query [B, Lq, d_q], value [B, Lv, d_v] = query, query_mask [B, Lq] bool,
    value_mask [B, Lv] bool) -> [B, Lq, output_dim or num_heads*head_dim].
    Masked values get no attention (scores at the dtype's minimum, softmax in float32); padded
    query positions output zeros, so padding never reaches later layers; a query whose values
    are all padding outputs zeros.
    """

    def __init__(self, num_heads, head_dim, output_dim=0, use_bias=False, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        if num_heads < 1 or head_dim < 1:
            raise ValueError(f"num_heads and head_dim must be >= 1, got {num_heads}, "
                             f"{head_dim}")
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.output_dim = int(output_dim)
        self.use_bias = bool(use_bias)
        self.dropout = float(dropout)
        width = self.num_heads * self.head_dim
        self.query_dense, self.key_dense, self.value_dense = [
            tf.keras.layers.Dense(width, use_bias=self.use_bias, dtype=self.dtype_policy,
                                  name=n) for n in ("query", "key", "value")]
        self.output_dense = (tf.keras.layers.Dense(self.output_dim, use_bias=self.use_bias,
                                                   dtype=self.dtype_policy, name="output")
                             if self.output_dim else None)
        self.dropout_layer = tf.keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _split_heads(self, x):
        batch, length = tf.shape(x)[0], tf.shape(x)[1]
        x = tf.reshape(x, [batch, length, self.num_heads, self.head_dim])
        return tf.transpose(x, [0, 2, 1, 3])  # [B, H, L, head_dim]

    def call(self, query, value=None, query_mask=None, value_mask=None, training=None):
        if value is None:
            value, value_mask = query, query_mask if value_mask is None else value_mask
        q = self._split_heads(self.query_dense(query))
        k = self._split_heads(self.key_dense(value))
        v = self._split_heads(self.value_dense(value))
        scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(self.head_dim)
        mask = None if value_mask is None else value_mask[:, None, None, :]  # None: all valid
        weights = masked_softmax(scores, mask)
        weights = self.dropout_layer(tf.cast(weights, v.dtype), training=training)
        out = tf.transpose(tf.matmul(weights, v), [0, 2, 1, 3])
        out = tf.reshape(out, [tf.shape(out)[0], tf.shape(out)[1],
                               self.num_heads * self.head_dim])
        if self.output_dense is not None:
            out = self.output_dense(out)
        if query_mask is not None:
            out = out * tf.cast(query_mask, out.dtype)[..., None]
        return out

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, head_dim=self.head_dim,
                      output_dim=self.output_dim, use_bias=self.use_bias, dropout=self.dropout)
        return config
