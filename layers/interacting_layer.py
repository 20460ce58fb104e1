"""InteractingLayer: one AutoInt block, self-attention over fields with a residual."""
import tensorflow as tf

from layers.multi_head_attention import MultiHeadAttention


@tf.keras.utils.register_keras_serializable(package="garden")
class InteractingLayer(tf.keras.layers.Layer):
    """e_res = relu(MultiHead(e, e) + W_res e) (AutoInt, Song et al., CIKM 2019, eq. 5-7).

    Each field attends to every field (itself included) with `num_heads` heads of width
    `head_dim`; the heads are concatenated without an output projection, as in the paper.
    Stacking L blocks lets a field combine up to 2^L fields' information.

    The attention is the garden's MultiHeadAttention, which scales the scores by
    1/sqrt(head_dim) as the Transformer does; the paper (and DeepCTR's default) use the plain
    inner product. With learned W_Q, W_K the two differ only by a factor on those weights, so
    the garden keeps the one attention layer. The residual projection W_res (no bias) maps the
    input to the heads' width whenever use_residual, as in the paper and DeepCTR, even when
    the widths already match.

    Args:
      num_heads, head_dim: attention heads and their width (d' in the paper).
      use_residual: add W_res e before the relu.
    Input [B, F, d] (no mask: fields are always present) -> output [B, F, num_heads*head_dim].
    """

    def __init__(self, num_heads=2, head_dim=16, use_residual=True, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.head_dim = int(head_dim)
        self.use_residual = bool(use_residual)
        self.attention = MultiHeadAttention(self.num_heads, self.head_dim,
                                            dtype=self.dtype_policy, name="attention")
        self.residual_dense = (tf.keras.layers.Dense(self.num_heads * self.head_dim,
                                                     use_bias=False, dtype=self.dtype_policy,
                                                     name="residual")
                               if self.use_residual else None)

    def call(self, inputs, training=None):
        out = self.attention(inputs, training=training)
        if self.residual_dense is not None:
            out += self.residual_dense(inputs)
        return tf.nn.relu(out)

    def get_config(self):
        config = super().get_config()
        config.update(num_heads=self.num_heads, head_dim=self.head_dim,
                      use_residual=self.use_residual)
        return config
