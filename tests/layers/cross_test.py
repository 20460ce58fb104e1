import numpy as np
import tensorflow as tf
from absl.testing import parameterized

from layers.cross import CrossNetwork
from tests.layers import contract


class CrossNetworkTest(tf.test.TestCase, parameterized.TestCase):

    def test_golden_value_vector(self):
        # x0 = (1, 2), w = (0.5, 1), b = 0.1: x0 . w = 2.5, x1 = x0 * 2.5 + b + x0 = (3.6, 7.1).
        # Second layer, w = (1, 0), b = 0: x1 . w = 3.6, x2 = x0 * 3.6 + x1 = (7.2, 14.3).
        layer = CrossNetwork(num_layers=2, kind="vector")
        x0 = tf.constant([[1.0, 2.0]])
        layer(x0)
        layer.kernels[0].assign([0.5, 1.0])
        layer.biases[0].assign([0.1, 0.1])
        layer.kernels[1].assign([1.0, 0.0])
        self.assertAllClose(layer(x0), [[7.2, 14.3]])

    def test_golden_value_matrix(self):
        # W = [[1, 0], [1, 1]] (x @ W), b = 0: x0 @ W = (3, 2); x1 = x0 * (3, 2) + x0 = (4, 6).
        layer = CrossNetwork(num_layers=1, kind="matrix")
        x0 = tf.constant([[1.0, 2.0]])
        layer(x0)
        layer.crosses[0]._dense.kernel.assign([[1.0, 0.0], [1.0, 1.0]])
        self.assertAllClose(layer(x0), [[4.0, 6.0]])

    def test_golden_value_low_rank(self):
        # U = (1, 1)^T, V = (1, 2): x0 U = 3, W x = (3, 6); x1 = x0 * (3, 6) + x0 = (4, 14).
        layer = CrossNetwork(num_layers=1, kind="low_rank", projection_dim=1)
        x0 = tf.constant([[1.0, 2.0]])
        layer(x0)
        layer.crosses[0]._dense_u.kernel.assign([[1.0], [1.0]])
        layer.crosses[0]._dense_v.kernel.assign([[1.0, 2.0]])
        self.assertAllClose(layer(x0), [[4.0, 14.0]])

    @parameterized.parameters("vector", "matrix", "low_rank")
    def test_shape_and_parameters(self, kind):
        layer = CrossNetwork(num_layers=3, kind=kind, projection_dim=2)
        self.assertEqual(layer(tf.ones([4, 6])).shape, (4, 6))
        # vector: 2d per layer; matrix: d^2 + d; low rank: 2 d r + d.
        per_layer = {"vector": 12, "matrix": 42, "low_rank": 30}[kind]
        self.assertEqual(layer.count_params(), 3 * per_layer)

    def test_rejects_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "kind must be one of"):
            CrossNetwork(kind="diagonal")
        with self.assertRaisesRegex(ValueError, "projection_dim"):
            CrossNetwork(kind="low_rank")

    @parameterized.parameters("vector", "matrix", "low_rank")
    def test_config_round_trip(self, kind):
        contract.assert_config_round_trip(self, CrossNetwork(2, kind=kind, projection_dim=3))

    @parameterized.parameters("vector", "matrix", "low_rank")
    def test_mixed_bfloat16(self, kind):
        x = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
        contract.run_mixed_bfloat16(self, lambda: CrossNetwork(2, kind, projection_dim=2),
                                    tf.constant(x))


if __name__ == "__main__":
    tf.test.main()
