"""GatedFusion: SDM's gate between short-term and long-term interest."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class GatedFusion(tf.keras.layers.Layer):
    """g = sigmoid(W1 e_u + W2 s + W3 p + b), o = (1 - g) * p + g * s  (Lv et al., CIKM 2019).

    The gate is per dimension, so the model decides for each interest dimension how much the
    current session overrides the long-term preference.

    Call([e_u [B, d_u], s [B, d], p [B, d]]) -> [B, d].
    """

    def build(self, input_shape):
        dim = input_shape[1][-1]
        if input_shape[2][-1] != dim:
            raise ValueError(f"short-term ({dim}) and long-term ({input_shape[2][-1]}) "
                             "interest must have the same size")
        self.user_dense = tf.keras.layers.Dense(dim, use_bias=True, dtype=self.dtype_policy,
                                                name="w1")
        self.short_dense = tf.keras.layers.Dense(dim, use_bias=False, dtype=self.dtype_policy,
                                                 name="w2")
        self.long_dense = tf.keras.layers.Dense(dim, use_bias=False, dtype=self.dtype_policy,
                                                name="w3")
        super().build(input_shape)

    def call(self, inputs):
        user, short, long = inputs
        gate = tf.sigmoid(self.user_dense(user) + self.short_dense(short)
                          + self.long_dense(long))
        return (1.0 - gate) * long + gate * short
