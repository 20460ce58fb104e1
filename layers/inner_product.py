"""InnerProduct: the inner-product layer of IPNN (Qu et al., ICDM 2016, "Product-based Neural
Networks for User Response Prediction")."""
import numpy as np
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class InnerProduct(tf.keras.layers.Layer):
    """<f_i, f_j> for every pair of fields i < j.

    Input [B, F, k] -> output [B, F (F - 1) / 2] in the compute dtype, pairs in row-major
    order ((0, 1), (0, 2), ..., (1, 2), ...). The paper feeds the product matrix p through
    l_p = W_p (.) p; a Dense layer over this output is exactly that (p is symmetric and its
    diagonal carries no interaction, so the upper triangle is all of it). The paper's
    first-order decomposition of W_p, a memory saving, is not used.
    """

    def call(self, inputs):
        num_fields = inputs.shape[1]
        rows, cols = np.triu_indices(num_fields, k=1)
        left = tf.gather(inputs, rows, axis=1)
        right = tf.gather(inputs, cols, axis=1)
        return tf.reduce_sum(left * right, axis=-1)
