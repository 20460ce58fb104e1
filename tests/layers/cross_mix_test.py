import numpy as np
import tensorflow as tf

from layers.cross_mix import CrossMix
from tests.layers import contract


class CrossMixTest(tf.test.TestCase):

    def test_golden_value(self):
        # d = 2, r = 1, identity g. Expert 0: V = (1, 1), C = 1, U = (1, 1): x0 . V = 3,
        # U-part = (3, 3), E_0 = x0 * (3, 3) = (3, 6). Expert 1: U = 0, so E_1 = x0 * b = 0.
        # Zero gate weights: each expert gets 1/2; x1 = (3, 6) / 2 + x0 = (2.5, 5).
        layer = CrossMix(num_layers=1, num_experts=2, projection_dim=1, activation="linear")
        x0 = tf.constant([[1.0, 2.0]])
        layer(x0)
        layer.v[0].assign([[[1.0], [1.0]], [[1.0], [1.0]]])
        layer.c[0].assign([[[1.0]], [[1.0]]])
        layer.u[0].assign([[[1.0, 1.0]], [[0.0, 0.0]]])
        layer.gate_kernel[0].assign(tf.zeros([2, 2]))
        self.assertAllClose(layer(x0), [[2.5, 5.0]])
        # A gate that prefers expert 0 by logit ln(3): gates (3/4, 1/4) -> (3, 6) * 3/4 + x0.
        layer.gate_bias[0].assign([np.log(3.0), 0.0])
        self.assertAllClose(layer(x0), [[3.25, 6.5]], rtol=1e-5)

    def test_shape_and_parameters(self):
        layer = CrossMix(num_layers=2, num_experts=3, projection_dim=2)
        self.assertEqual(layer(tf.ones([4, 6])).shape, (4, 6))
        # per layer: E (d r + r^2 + r d) + d + (d E + E)
        per_layer = 3 * (12 + 4 + 12) + 6 + (18 + 3)
        self.assertEqual(layer.count_params(), 2 * per_layer)

    def test_rejects_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "num_experts must be >= 1"):
            CrossMix(num_experts=0)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, CrossMix(3, 2, 8, activation="relu"))

    def test_mixed_bfloat16(self):
        x = np.random.default_rng(0).normal(size=(2, 5)).astype(np.float32)
        contract.run_mixed_bfloat16(self, lambda: CrossMix(2, 3, 2), tf.constant(x))


if __name__ == "__main__":
    tf.test.main()
