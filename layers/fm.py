"""FactorizationMachine: the second-order interaction term of FM (Rendle, ICDM 2010)."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class FactorizationMachine(tf.keras.layers.Layer):
    """sum_{i<j} <v_i, v_j> over F field embeddings, in O(F*k) instead of O(F^2*k).

    Uses sum_{i<j} <v_i, v_j> = 1/2 * sum_k [(sum_i v_ik)^2 - sum_i v_ik^2].
    Input [B, F, k] -> output [B, 1] in float32: the difference of two large sums loses
    too much in bfloat16, so the reduction runs in float32.
    """

    def call(self, inputs):
        v = tf.cast(inputs, tf.float32)
        square_of_sum = tf.square(tf.reduce_sum(v, axis=1))
        sum_of_squares = tf.reduce_sum(tf.square(v), axis=1)
        return 0.5 * tf.reduce_sum(square_of_sum - sum_of_squares, axis=1, keepdims=True)
