"""FieldAwareFM: the pairwise term of field-aware factorization machines (Juan et al., RecSys
2016, "Field-aware Factorization Machines for CTR Prediction")."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class FieldAwareFM(tf.keras.layers.Layer):
    """sum_{i<j} <v_{i,f_j}, v_{j,f_i}>: each field keeps one embedding per other field.

    Input [B, F, F, k]: inputs[:, i, j] is field i's embedding toward field j (the diagonal
    inputs[:, i, i] is never read). Output [B, 1] in float32: the products are summed over
    F (F - 1) / 2 pairs, which bfloat16 rounds badly, so they run in float32. There is no
    O(F k) rewrite as for FM: the cost is O(F^2 k), as in the paper.

    As in the paper (and libffm) a categorical feature value is one-hot (x = 1), so the term
    needs no feature values; the garden keeps dense features in the linear term.
    """

    def call(self, inputs):
        v = tf.cast(inputs, tf.float32)
        num_fields = v.shape[1]
        if v.shape.rank != 4 or v.shape[2] != num_fields:
            raise ValueError(f"FieldAwareFM expects [B, F, F, k], got {v.shape}")
        # products[b, i, j] = <v[b, i, j], v[b, j, i]>, symmetric in i and j.
        products = tf.reduce_sum(v * tf.transpose(v, [0, 2, 1, 3]), axis=-1)
        upper = tf.linalg.band_part(tf.ones([num_fields, num_fields]), 0, -1) - tf.eye(num_fields)
        return tf.reduce_sum(products * upper, axis=[1, 2])[:, None]
