"""SequencePooling: masked mean, sum or max over a padded sequence."""
import tensorflow as tf

MODES = ("mean", "sum", "max")


@tf.keras.utils.register_keras_serializable(package="garden")
class SequencePooling(tf.keras.layers.Layer):
    """Pools [B, L, D] embeddings over the valid positions given by a [B, L] bool mask.

    Output [B, D]. Padded positions never change it; a fully padded row gives zeros (mean and
    max included), never NaN.
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def call(self, inputs, mask):
        m = tf.cast(mask, inputs.dtype)[..., None]
        if self.mode == "max":
            lowest = tf.constant(inputs.dtype.min, inputs.dtype)
            pooled = tf.reduce_max(tf.where(m > 0, inputs, lowest), axis=1)
            return tf.where(tf.reduce_any(mask, axis=1)[:, None], pooled, tf.zeros_like(pooled))
        total = tf.reduce_sum(inputs * m, axis=1)
        if self.mode == "sum":
            return total
        count = tf.reduce_sum(m, axis=1)
        return total / tf.maximum(count, tf.ones_like(count))

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode)
        return config
