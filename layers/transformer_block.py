"""TransformerBlock: self-attention and a feed-forward net, each with residual (+ layer norm)."""
import tensorflow as tf

from layers.multi_head_attention import MultiHeadAttention


@tf.keras.utils.register_keras_serializable(package="garden")
class TransformerBlock(tf.keras.layers.Layer):
    """One encoder block of Vaswani et al. (NeurIPS 2017), post-norm:

      a = LayerNorm(x + Dropout(MultiHeadAttention(x)))
      out = LayerNorm(a + Dropout(FFN(a))),  FFN = Dense(ffn_dim, activation) -> Dense(d)

    BST (Chen et al., 2019) runs such a block over the behaviour sequence plus the target item
    (with LeakyReLU in the FFN); DSIN (Feng et al., IJCAI 2019) runs one inside each session.
    Attention is layers/multi_head_attention.py with output projection back to d.

    With layer_norm=False both LayerNorms are left out (residuals only), as DeepCTR's DSIN
    (co-written by the DSIN authors) runs its session extractor: the block's output then keeps
    the scale of its input embeddings instead of unit variance per position.

    Args: num_heads, head_dim, ffn_dim (0: 4 * d), activation, dropout, layer_norm.
    Call(x [B, L, d], mask [B, L] bool or None, training) -> [B, L, d].
    Padded positions get no attention and output zeros; a fully padded row outputs zeros.
    Layer norm runs in float32.
    """

    def __init__(self, num_heads, head_dim, ffn_dim=0, activation="relu", dropout=0.0,
                 layer_norm=True, **kwargs):
        super().__init__(**kwargs)
        if ffn_dim < 0:
            raise ValueError(f"ffn_dim must be >= 0, got {ffn_dim}")
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.ffn_dim = int(ffn_dim)
        self.activation = activation
        self.dropout = float(dropout)
        self.layer_norm = bool(layer_norm)
        self.dropout_layer = tf.keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        if self.layer_norm:
            self.attention_norm = tf.keras.layers.LayerNormalization(dtype="float32",
                                                                     name="attention_norm")
            self.ffn_norm = tf.keras.layers.LayerNormalization(dtype="float32",
                                                               name="ffn_norm")

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.attention = MultiHeadAttention(self.num_heads, self.head_dim, output_dim=dim,
                                            dropout=self.dropout, dtype=self.dtype_policy,
                                            name="attention")
        self.ffn_inner = tf.keras.layers.Dense(self.ffn_dim or 4 * dim,
                                               activation=self.activation,
                                               dtype=self.dtype_policy, name="ffn_inner")
        self.ffn_outer = tf.keras.layers.Dense(dim, dtype=self.dtype_policy, name="ffn_outer")
        super().build(input_shape)

    def call(self, x, mask=None, training=None):
        if mask is None:
            mask = tf.ones(tf.shape(x)[:2], tf.bool)
        mask = tf.cast(mask, tf.bool)
        keep = tf.cast(mask, tf.float32)[..., None]
        attended = self.attention(x, query_mask=mask, training=training)
        a = tf.cast(x, tf.float32) + tf.cast(self.dropout_layer(attended, training=training),
                                             tf.float32)
        if self.layer_norm:
            a = self.attention_norm(a)
        a = tf.cast(a * keep, self.compute_dtype)
        ffn = self.dropout_layer(self.ffn_outer(self.ffn_inner(a)), training=training)
        out = tf.cast(a, tf.float32) + tf.cast(ffn, tf.float32)
        if self.layer_norm:
            out = self.ffn_norm(out)
        return tf.cast(out * keep, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, head_dim=self.head_dim, ffn_dim=self.ffn_dim,
                      activation=self.activation, dropout=self.dropout,
                      layer_norm=self.layer_norm)
        return config
