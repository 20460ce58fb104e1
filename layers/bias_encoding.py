"""BiasEncoding: DSIN's learned position encoding of sessions and of events within them."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class BiasEncoding(tf.keras.layers.Layer):
    """x + BE,  BE[k, t, c] = w^K[k] + w^T[t] + w^C[c]  (Feng et al., "Deep Session Interest
    Network for Click-Through Rate Prediction", IJCAI 2019, eq. (2)).

    w^K is a bias per session, w^T per position within a session, w^C per embedding unit;
    their sum lets the session self-attention tell sessions and positions apart.

    Args: initializer for the three bias vectors (zeros; DeepCTR uses a tiny truncated normal).
    Call(x [B, K, T, d], mask [B, K, T] bool or None) -> [B, K, T, d]; padded events output
    zeros, so the bias never turns padding into something a later layer could see.
    """

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = tf.keras.initializers.get(initializer)

    def build(self, input_shape):
        sessions, length, dim = (int(s) for s in input_shape[1:])
        self.session_bias = self.add_weight(name="session_bias", shape=(sessions, 1, 1),
                                            initializer=self.initializer)
        self.position_bias = self.add_weight(name="position_bias", shape=(1, length, 1),
                                             initializer=self.initializer)
        self.unit_bias = self.add_weight(name="unit_bias", shape=(1, 1, dim),
                                         initializer=self.initializer)
        super().build(input_shape)

    def call(self, x, mask=None):
        out = x + (self.session_bias + self.position_bias + self.unit_bias)
        if mask is not None:
            out = out * tf.cast(mask, out.dtype)[..., None]
        return out

    def get_config(self):
        config = super().get_config()
        config.update(initializer=tf.keras.initializers.serialize(self.initializer))
        return config
