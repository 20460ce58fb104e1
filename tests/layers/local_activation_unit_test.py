import numpy as np
import tensorflow as tf

from layers.local_activation_unit import LocalActivationUnit
from tests.layers import contract


def _constant_unit(softmax=False):
    layer = LocalActivationUnit([1], activation="linear", softmax=softmax)
    layer(tf.zeros([1, 2]), tf.zeros([1, 2, 2]), tf.ones([1, 2], tf.bool))
    layer.mlp.dense_layers[0].kernel.assign(tf.ones([8, 1]))
    layer.mlp.dense_layers[0].bias.assign([0.0])
    layer.score_dense.kernel.assign([[1.0]])
    layer.score_dense.bias.assign([0.0])
    return layer


class LocalActivationUnitTest(tf.test.TestCase):

    def test_golden_value_unnormalized(self):
        # Weight = sum of [k, q, k - q, k * q]: k1 = [1, 0] gives 1+0 + 1+0 + 0+0 + 1+0 = 3,
        # k2 = [0, 2] gives 0+2 + 1+0 + (-1)+2 + 0+0 = 4, with q = [1, 0].
        q = tf.constant([[1.0, 0.0]])
        keys = tf.constant([[[1.0, 0.0], [0.0, 2.0]]])
        layer = _constant_unit()
        both = tf.constant([[True, True]])
        self.assertAllClose(layer.scores(q, keys, both), [[3.0, 4.0]])
        self.assertAllClose(layer(q, keys, both), [[3.0, 8.0]])  # 3 k1 + 4 k2, no softmax
        self.assertAllClose(layer(q, keys, tf.constant([[True, False]])), [[3.0, 0.0]])

    def test_golden_value_softmax(self):
        q = tf.constant([[1.0, 0.0]])
        keys = tf.constant([[[1.0, 0.0], [0.0, 2.0]]])
        w = np.exp(3.0) / (np.exp(3.0) + np.exp(4.0))
        out = _constant_unit(softmax=True)(q, keys, tf.constant([[True, True]]))
        self.assertAllClose(out, [[w, 2 * (1 - w)]], atol=1e-6)

    def test_padding_never_matters_and_empty_rows_are_zero(self):
        rng = np.random.default_rng(0)
        q = rng.normal(size=(3, 4)).astype(np.float32)
        keys = rng.normal(size=(3, 6, 4)).astype(np.float32)
        values = rng.normal(size=(3, 6, 5)).astype(np.float32)
        mask = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [0] * 6], bool)
        for softmax in (False, True):
            layer = LocalActivationUnit([8, 4], softmax=softmax)
            for training in (True, False):
                clean = layer(q, keys, mask, values, training=training)
                noisy = layer(q, contract.fill_padding(keys, mask), mask,
                              contract.fill_padding(values, mask, seed=1), training=training)
                self.assertEqual(clean.shape, (3, 5))
                self.assertAllClose(clean, noisy, atol=1e-5)
                self.assertAllEqual(clean[2], np.zeros(5))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, LocalActivationUnit([16, 8], "sigmoid", True))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[True, True, False]])
        contract.run_mixed_bfloat16(
            self, lambda: LocalActivationUnit([4]), (tf.ones([1, 3]), tf.ones([1, 3, 3])),
            call=lambda layer, x: layer(tf.cast(x[0], tf.bfloat16), tf.cast(x[1], tf.bfloat16),
                                        mask, training=True))


if __name__ == "__main__":
    tf.test.main()
