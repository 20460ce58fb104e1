import numpy as np
import tensorflow as tf

from layers.capsule_routing import CapsuleRouting
from tests.layers import contract

BEHAVIOURS = np.array([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]],
                       [[2.0, 1.0], [1.0, 3.0], [0.5, -1.0]]], np.float32)
MASK = np.array([[True, True, False], [True, True, True]])


def _golden_layer(**kwargs):
    layer = CapsuleRouting(dim=2, **kwargs)
    layer(BEHAVIOURS, MASK)
    layer.bilinear.assign(np.eye(2))
    layer.routing_init.assign(np.zeros(layer.routing_init.shape))
    return layer


class CapsuleRoutingTest(tf.test.TestCase):

    def test_golden_one_capsule_squashes_the_sum(self):
        layer = _golden_layer(num_interests=1, iterations=2)
        interests, capsules = layer(BEHAVIOURS, MASK)
        # z = (1, 1): |z|^2 = 2 -> 2/3 * (1, 1) / sqrt(2).
        self.assertAllClose(interests[0, 0], [2 / 3 / np.sqrt(2)] * 2)
        self.assertAllEqual(capsules, [[True], [True]])

    def test_golden_equal_starts_split_the_weight(self):
        layer = _golden_layer(num_interests=2, iterations=1, dynamic_interests=False)
        interests, _ = layer(BEHAVIOURS, MASK)
        # w = 1/2 per capsule: z = (.5, .5), |z|^2 = .5 -> (1/3) (.5, .5) / sqrt(.5).
        expected = 1 / 3 * 0.5 / np.sqrt(0.5)
        self.assertAllClose(interests[0], [[expected] * 2] * 2)

    def test_dynamic_interest_number(self):
        layer = _golden_layer(num_interests=2, iterations=1)
        interests, capsules = layer(BEHAVIOURS, MASK)
        # Two behaviours: floor(log2 2) = 1 capsule takes all the weight; three: also 1.
        self.assertAllEqual(capsules, [[True, False], [True, False]])
        self.assertAllClose(interests[0, 0], [2 / 3 / np.sqrt(2)] * 2)
        self.assertAllClose(interests[0, 1], [0.0, 0.0])
        long_mask = np.ones([1, 9], bool)
        counted = CapsuleRouting(num_interests=4).interest_mask(tf.constant(long_mask))
        self.assertAllEqual(counted, [[True, True, True, False]])  # floor(log2 9) = 3

    def test_random_starts_give_distinct_interests(self):
        layer = CapsuleRouting(num_interests=3, dim=4, dynamic_interests=False)
        interests, _ = layer(tf.random.normal([2, 6, 5], seed=1), tf.ones([2, 6], tf.bool))
        self.assertGreater(float(tf.reduce_max(tf.abs(interests[:, 0] - interests[:, 1]))),
                           1e-3)

    def test_padding_never_matters_and_empty_rows_are_finite(self):
        layer = CapsuleRouting(num_interests=2, dim=3, dynamic_interests=False)
        out, _ = layer(BEHAVIOURS, MASK)
        noisy, _ = layer(contract.fill_padding(BEHAVIOURS, MASK), MASK)
        self.assertAllClose(out, noisy)
        empty, capsules = layer(BEHAVIOURS, np.zeros_like(MASK))
        self.assertAllClose(empty, np.zeros([2, 2, 3]))
        self.assertAllEqual(capsules[:, 0], [True, True])

    def test_argument_errors(self):
        with self.assertRaisesRegex(ValueError, "num_interests"):
            CapsuleRouting(num_interests=0)
        with self.assertRaisesRegex(ValueError, "known L"):
            CapsuleRouting().build([None, None, 4])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, CapsuleRouting(
            num_interests=3, dim=8, iterations=2, init_stddev=0.5, dynamic_interests=False,
            seed=7))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(
            self, lambda: CapsuleRouting(num_interests=2, dim=4),
            (tf.constant(BEHAVIOURS), tf.constant(MASK)),
            call=lambda layer, x: layer(tf.cast(x[0], tf.bfloat16), x[1])[0])


if __name__ == "__main__":
    tf.test.main()
