"""Linear: the first-order term of LR, FM and DeepFM."""
import tensorflow as tf

from layers.feature_embedding import FeatureEmbedding


@tf.keras.utils.register_keras_serializable(package="garden")
class Linear(tf.keras.layers.Layer):
    """sum_f w_f[id_f] + <w, dense> + b: one scalar weight per id, a weight per dense value.

    Args:
      vocab_sizes: {feature_name: vocab_size} of the id features it weighs.
      use_bias: add a global bias b.
    Call: (ids: {feature: [B] int}, dense: [B, n] or None) -> [B, 1]. Weights start at zero.
    """

    def __init__(self, vocab_sizes, use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.vocab_sizes = {name: int(v) for name, v in vocab_sizes.items()}
        self.use_bias = bool(use_bias)
        self.weights_layer = FeatureEmbedding(
            {name: [v, 1] for name, v in self.vocab_sizes.items()},
            {name: name for name in self.vocab_sizes}, embeddings_initializer="zeros",
            dtype=self.dtype_policy)
        self.dense_layer = tf.keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros",
                                                 dtype=self.dtype_policy)

    def build(self, input_shape):
        self.bias = self.add_weight(name="bias", shape=(1,), initializer="zeros",
                                    trainable=self.use_bias)
        super().build(input_shape)

    def call(self, ids, dense=None):
        terms = list(self.weights_layer(ids).values())
        if dense is not None:
            terms.append(self.dense_layer(dense))
        if not terms:
            raise ValueError("Linear needs id features or dense values")
        out = tf.add_n([tf.reshape(t, [-1, 1]) for t in terms])
        return out + tf.cast(self.bias, out.dtype) if self.use_bias else out

    def get_config(self):
        config = super().get_config()
        config.update(vocab_sizes=self.vocab_sizes, use_bias=self.use_bias)
        return config
