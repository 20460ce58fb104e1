import numpy as np
import tensorflow as tf

from layers.senet import SENet
from tests.layers import contract


class SENetTest(tf.test.TestCase):

    def test_golden_value(self):
        # F = 3, r = 3: a bottleneck of one unit. Field means z = (2, -1, 0.5).
        x = tf.constant([[[1.0, 3.0], [-2.0, 0.0], [0.5, 0.5]]])
        layer = SENet(reduction_ratio=3)
        layer(x)
        layer.squeeze_dense.kernel.assign([[1.0], [1.0], [1.0]])  # relu(1.5) = 1.5
        layer.excite_dense.kernel.assign([[2.0, -1.0, 1.0]])  # a = relu(3, -1.5, 1.5)
        self.assertAllClose(layer(x), [[[3.0, 9.0], [0.0, 0.0], [0.75, 0.75]]])

    def test_shape_and_bottleneck(self):
        layer = SENet(reduction_ratio=4)
        self.assertEqual(layer(tf.random.normal([2, 10, 8])).shape, (2, 10, 8))
        self.assertEqual(layer.squeeze_dense.kernel.shape, (10, 2))
        small = SENet(reduction_ratio=8)
        small(tf.random.normal([1, 3, 2]))
        self.assertEqual(small.squeeze_dense.kernel.shape, (3, 1))

    def test_rejects_zero_ratio(self):
        with self.assertRaisesRegex(ValueError, "reduction_ratio"):
            SENet(reduction_ratio=0)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, SENet(reduction_ratio=2, name="senet"))

    def test_mixed_bfloat16(self):
        x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype(np.float32)
        contract.run_mixed_bfloat16(self, lambda: SENet(2), tf.constant(x))


if __name__ == "__main__":
    tf.test.main()
