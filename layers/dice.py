"""Dice: DIN's data-adaptive activation."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class Dice(tf.keras.layers.Layer):
    """f(s) = p(s) * s + (1 - p(s)) * alpha * s,  p(s) = sigmoid((s - E[s]) / sqrt(Var[s] + eps)).

    Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018, eq. (10):
    a PReLU whose rectification point follows the input distribution. E[s] and Var[s] are per
    channel (last axis): the batch's moments in training, their moving averages (`momentum`) in
    inference, as batch normalization without scale and offset. alpha is learned per channel
    and starts at zero (DeepCTR's choice; the paper does not give one).

    Call(inputs [..., d], mask [...] bool or None, training) -> [..., d] in the compute dtype.
    With a mask (e.g. [B, L] for a sequence) only valid positions enter the batch moments, so
    padding never changes the outputs at valid positions; masked positions output zeros.
    Moments and the sigmoid run in float32.
    """

    def __init__(self, epsilon=1e-8, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if epsilon <= 0 or not 0 <= momentum < 1:
            raise ValueError(f"need epsilon > 0 and 0 <= momentum < 1, got {epsilon}, "
                             f"{momentum}")
        self.epsilon = float(epsilon)
        self.momentum = float(momentum)

    def build(self, input_shape):
        dim = int(input_shape[-1])
        self.alpha = self.add_weight(name="alpha", shape=(dim,), initializer="zeros",
                                     dtype="float32", experimental_autocast=False)
        # Per-replica moving moments, averaged when read (as Keras BatchNormalization).
        stats = dict(shape=(dim,), dtype="float32", trainable=False,
                     synchronization=tf.VariableSynchronization.ON_READ,
                     aggregation=tf.VariableAggregation.MEAN, experimental_autocast=False)
        self.moving_mean = self.add_weight(name="moving_mean", initializer="zeros", **stats)
        self.moving_variance = self.add_weight(name="moving_variance", initializer="ones",
                                               **stats)
        super().build(input_shape)

    def call(self, inputs, mask=None, training=None):
        x = tf.cast(inputs, tf.float32)
        weight = tf.ones_like(x[..., :1]) if mask is None else tf.cast(mask, tf.float32)[..., None]
        if training:
            axes = list(range(len(x.shape) - 1))
            count = tf.maximum(tf.reduce_sum(weight * tf.ones_like(x), axis=axes), 1.0)
            mean = tf.reduce_sum(x * weight, axis=axes) / count
            variance = tf.reduce_sum(tf.square(x - mean) * weight, axis=axes) / count
            self.moving_mean.assign(self.momentum * self.moving_mean
                                    + (1 - self.momentum) * mean)
            self.moving_variance.assign(self.momentum * self.moving_variance
                                        + (1 - self.momentum) * variance)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        p = tf.sigmoid((x - mean) * tf.math.rsqrt(variance + self.epsilon))
        out = (p * x + (1.0 - p) * self.alpha * x) * weight
        return tf.cast(out, self.compute_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(epsilon=self.epsilon, momentum=self.momentum)
        return config
