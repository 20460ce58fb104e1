"""OuterProduct: the outer-product layer of OPNN (Qu et al., ICDM 2016, "Product-based Neural
Networks for User Response Prediction")."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class OuterProduct(tf.keras.layers.Layer):
    """The paper's superposition: p = f_S f_S^T with f_S = sum_i f_i, flattened.

    Input [B, F, k] -> output [B, k * k] in the compute dtype. A Dense layer over it computes
    f_S^T W f_S = sum_{i,j} f_i^T W f_j per unit, the paper's l_p. The garden follows the paper
    (ICDM 2016), which sums the fields before the outer product to cost O(k^2) instead of
    O(F^2 k^2); DeepCTR's OutterProductLayer instead takes kernel products f_i^T W_ij f_j of
    every pair (the later KPNN of Qu et al., TOIS 2018).
    """

    def call(self, inputs):
        total = tf.reduce_sum(inputs, axis=1)  # [B, k]
        k = inputs.shape[-1]
        return tf.reshape(total[:, :, None] * total[:, None, :], [-1, k * k])
