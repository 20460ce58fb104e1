import numpy as np
import tensorflow as tf

from layers.gated_fusion import GatedFusion
from tests.layers import contract


class GatedFusionTest(tf.test.TestCase):

    def test_golden_value(self):
        layer = GatedFusion()
        user, short, long = tf.constant([[1.0]]), tf.constant([[4.0, 8.0]]), tf.constant(
            [[0.0, 2.0]])
        layer([user, short, long])
        layer.user_dense.kernel.assign([[0.0, 0.0]])
        layer.user_dense.bias.assign([0.0, np.log(3.0)])  # gates 0.5 and 0.75
        layer.short_dense.kernel.assign(tf.zeros([2, 2]))
        layer.long_dense.kernel.assign(tf.zeros([2, 2]))
        # o = (1 - g) * p + g * s
        self.assertAllClose(layer([user, short, long]),
                            [[0.5 * 0 + 0.5 * 4, 0.25 * 2 + 0.75 * 8]])

    def test_output_between_long_and_short(self):
        rng = np.random.default_rng(0)
        user, short, long = (rng.normal(size=(4, d)).astype(np.float32) for d in (3, 5, 5))
        out = GatedFusion()([user, short, long]).numpy()
        self.assertTrue(np.all(out >= np.minimum(short, long) - 1e-6))
        self.assertTrue(np.all(out <= np.maximum(short, long) + 1e-6))

    def test_rejects_mismatched_interests(self):
        with self.assertRaisesRegex(ValueError, "same size"):
            GatedFusion()([tf.ones([1, 2]), tf.ones([1, 3]), tf.ones([1, 4])])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, GatedFusion(name="gate"))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, GatedFusion, [tf.ones([2, 3]), tf.ones([2, 4]),
                                                        tf.zeros([2, 4])])


if __name__ == "__main__":
    tf.test.main()
