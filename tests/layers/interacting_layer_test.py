import numpy as np
import tensorflow as tf

from layers.interacting_layer import InteractingLayer
from tests.layers import contract


class InteractingLayerTest(tf.test.TestCase):

    def test_golden_value_identity_projections(self):
        x = tf.constant([[[1.0, 0.0], [0.0, -2.0]]])
        layer = InteractingLayer(num_heads=1, head_dim=2)
        layer(x)
        attention = layer.attention
        for dense in (attention.query_dense, attention.key_dense, attention.value_dense,
                      layer.residual_dense):
            dense.kernel.assign(tf.eye(2))
        # scores x x^T / sqrt(2) = [[1, 0], [0, 4]] / sqrt(2); row weights softmax of those.
        a = np.exp(1 / np.sqrt(2)) / (np.exp(1 / np.sqrt(2)) + 1)  # row 0, itself
        b = np.exp(4 / np.sqrt(2)) / (np.exp(4 / np.sqrt(2)) + 1)  # row 1, itself
        row0 = a * np.array([1, 0]) + (1 - a) * np.array([0, -2]) + [1, 0]
        row1 = (1 - b) * np.array([1, 0]) + b * np.array([0, -2]) + [0, -2]
        self.assertAllClose(layer(x), [[np.maximum(row0, 0), np.maximum(row1, 0)]], atol=1e-6)

    def test_shape_and_without_residual(self):
        layer = InteractingLayer(num_heads=3, head_dim=4)
        self.assertEqual(layer(tf.random.normal([2, 6, 5])).shape, (2, 6, 12))
        plain = InteractingLayer(num_heads=2, head_dim=2, use_residual=False)
        out = plain(tf.random.normal([2, 6, 5]))
        self.assertEqual(out.shape, (2, 6, 4))
        self.assertIsNone(plain.residual_dense)
        self.assertTrue(np.all(out.numpy() >= 0))

    def test_stacks(self):
        x = tf.random.normal([2, 5, 8])
        out = InteractingLayer(2, 4)(InteractingLayer(2, 4)(x))
        self.assertEqual(out.shape, (2, 5, 8))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, InteractingLayer(2, 8, use_residual=False))

    def test_mixed_bfloat16(self):
        x = np.random.default_rng(1).normal(size=(2, 4, 8)).astype(np.float32)
        contract.run_mixed_bfloat16(self, lambda: InteractingLayer(2, 4), tf.constant(x))


if __name__ == "__main__":
    tf.test.main()
