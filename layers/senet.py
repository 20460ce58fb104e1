"""SENet: squeeze-excitation over fields, the feature-importance part of FiBiNET."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class SENet(tf.keras.layers.Layer):
    """Reweighs each field embedding by a learned, input-dependent importance.

    FiBiNET (Huang et al., RecSys 2019), after SENet (Hu et al., CVPR 2018):
      squeeze    z_f = mean_d(e_{f,d})                         [B, F]
      excitation a = relu(W_2 relu(W_1 z)), W_1: F -> r', W_2: r' -> F, no biases
      re-weight  v_f = a_f * e_f                               [B, F, D]
    The paper writes the bottleneck as F / reduction_ratio; the garden, like DeepCTR, uses
    r' = max(1, F // reduction_ratio) so that it is an integer for any F. The paper and DeepCTR
    agree on mean pooling and relu after both layers (so a weight can reach exactly 0).

    Args:
      reduction_ratio: r in the paper (3 in its experiments).
    Input [B, F, D] (no mask: fields are always present) -> output [B, F, D].
    """

    def __init__(self, reduction_ratio=3, **kwargs):
        super().__init__(**kwargs)
        if reduction_ratio < 1:
            raise ValueError(f"reduction_ratio must be >= 1, got {reduction_ratio}")
        self.reduction_ratio = int(reduction_ratio)

    def build(self, input_shape):
        num_fields = int(input_shape[1])
        hidden = max(1, num_fields // self.reduction_ratio)
        self.squeeze_dense = tf.keras.layers.Dense(hidden, activation="relu", use_bias=False,
                                                   dtype=self.dtype_policy, name="squeeze")
        self.excite_dense = tf.keras.layers.Dense(num_fields, activation="relu", use_bias=False,
                                                  dtype=self.dtype_policy, name="excite")
        self.squeeze_dense.build((None, num_fields))
        self.excite_dense.build((None, hidden))
        super().build(input_shape)

    def call(self, inputs):
        z = tf.reduce_mean(inputs, axis=2)
        weights = self.excite_dense(self.squeeze_dense(z))
        return inputs * weights[:, :, None]

    def get_config(self):
        config = super().get_config()
        config.update(reduction_ratio=self.reduction_ratio)
        return config
