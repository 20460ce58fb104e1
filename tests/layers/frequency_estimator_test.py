import numpy as np
import tensorflow as tf

from layers.frequency_estimator import FrequencyEstimator
from tests.layers import contract


class FrequencyEstimatorTest(tf.test.TestCase):

    def test_golden_updates_follow_algorithm_1_item_by_item(self):
        est = FrequencyEstimator(num_buckets=1000, num_hashes=1, alpha=0.5)
        est.update(tf.constant([3]))  # step 1: first sighting, B = 1
        est.update(tf.constant([5]))  # step 2: B(5) = 2
        est.update(tf.constant([3, 3]))  # step 3: B = 0.5 * 1 + 0.5 * 2 = 1.5, then 0.5 * 1.5
        self.assertAllClose(est(tf.constant([3, 5, 7])), [1 / 0.75, 1 / 2, 1 / 3])

    def test_converges_to_the_rate_per_step(self):
        est = FrequencyEstimator(num_buckets=1 << 10, num_hashes=2, alpha=0.05)
        for step in range(1, 401):
            ids = [1, 1, 1] + ([2] if step % 4 == 0 else [])
            est.update(tf.constant(ids))
        p = est(tf.constant([1, 2])).numpy()
        self.assertAllClose(p, [3.0, 0.25], rtol=0.1)

    def test_the_largest_gap_over_hashes_undoes_a_collision(self):
        # Find an item that shares item 1's bucket under the first hash only.
        buckets = 16
        keys = FrequencyEstimator(buckets, num_hashes=2)._keys(tf.range(1, 200)).numpy()
        other = [j for j in range(1, 199)
                 if keys[0, j] == keys[0, 0] and keys[1, j] != keys[1, 0]]
        self.assertTrue(other, "no colliding item found")
        rare = other[0] + 1
        estimates = {}
        for hashes in (1, 2):
            est = FrequencyEstimator(buckets, num_hashes=hashes, alpha=0.1)
            for step in range(1, 301):
                est.update(tf.constant([1] + ([rare] if step % 10 == 0 else [])))
            estimates[hashes] = est(tf.constant([rare])).numpy()[0]
        self.assertGreater(estimates[1], 0.9)  # it looks as frequent as item 1
        self.assertAllClose(estimates[2], 0.1, rtol=0.15)

    def test_argument_errors(self):
        for kwargs, word in ((dict(num_buckets=0), "num_buckets"),
                             (dict(num_hashes=9), "num_hashes"), (dict(alpha=1.0), "alpha")):
            with self.assertRaisesRegex(ValueError, word):
                FrequencyEstimator(**kwargs)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, FrequencyEstimator(128, 3, 0.2))

    def test_mixed_bfloat16_estimates_stay_float32(self):
        previous = tf.keras.mixed_precision.global_policy()
        tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            est = FrequencyEstimator(64, 2)
            est.update(tf.constant([1, 2, 2]))
            p = est(tf.constant([1, 2]))
        finally:
            tf.keras.mixed_precision.set_global_policy(previous)
        self.assertEqual(p.dtype, tf.float32)
        self.assertTrue(np.all(np.isfinite(p.numpy())))
        self.assertEqual(est.gap.dtype, tf.float32)


if __name__ == "__main__":
    tf.test.main()
