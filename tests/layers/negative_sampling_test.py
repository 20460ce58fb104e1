import numpy as np
import tensorflow as tf

from layers.negative_sampling import NegativeSampling
from tests.layers import contract


def _layer(noise_correction=True):
    layer = NegativeSampling(4, 2, noise_correction=noise_correction)
    layer.build()
    layer.context_embeddings.assign([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    layer.set_counts([100, 1, 0, 3])  # item 2 never seen; row 0 ignored
    return layer


def _softplus(x):
    return np.log1p(np.exp(x))


class NegativeSamplingTest(tf.test.TestCase):

    def test_noise_distribution_is_counts_to_the_three_quarters(self):
        layer = _layer()
        total = 1 + 3 ** 0.75
        self.assertAllClose(layer.log_noise.numpy()[[1, 3]], np.log([1 / total, 3 ** 0.75 / total]))
        self.assertEqual(float(layer.log_noise[0]), np.finfo(np.float32).min)
        self.assertEqual(float(layer.log_noise[2]), np.finfo(np.float32).min)

    def test_negatives_follow_the_noise_distribution(self):
        tf.random.set_seed(0)
        draws = _layer().sample_negatives(20_000, 3).numpy()
        self.assertEqual(draws.shape, (20_000, 3))
        share = np.bincount(draws.ravel(), minlength=4) / draws.size
        self.assertAllClose(share, [0, 1 / (1 + 3 ** 0.75), 0, 3 ** 0.75 / (1 + 3 ** 0.75)],
                            atol=0.01)

    def test_golden_loss(self):
        # center (1, 2): context 3 -> logit 3; negatives 1 and 2 -> logits 1 and 2.
        loss = _layer().loss(tf.constant([[1.0, 2.0]]), tf.constant([3]),
                             tf.constant([[1, 2]]))
        self.assertAllClose(loss, [_softplus(-3.0) + _softplus(1.0) + _softplus(2.0)])

    def test_golden_scores_with_and_without_noise_correction(self):
        query = tf.constant([[1.0, 2.0]])
        lowest = np.finfo(np.float32).min
        total = 1 + 3 ** 0.75
        self.assertAllClose(_layer(False)(query), [[lowest, 1.0, lowest, 3.0]])
        self.assertAllClose(_layer(True)(query),
                            [[lowest, 1.0 - np.log(total), lowest,
                              3.0 + np.log(3 ** 0.75 / total)]])

    def test_uniform_noise_before_counts_and_bad_counts(self):
        layer = NegativeSampling(5, 2)
        layer.build()
        self.assertAllClose(tf.exp(layer.log_noise[1:]), [0.25] * 4)
        with self.assertRaisesRegex(ValueError, "5 counts"):
            layer.set_counts([1, 2])
        with self.assertRaisesRegex(ValueError, "zero"):
            layer.set_counts([3, 0, 0, 0, 0])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, NegativeSampling(10, 3, 0.5, False))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(
            self, lambda: NegativeSampling(6, 4), tf.random.normal([3, 4]),
            call=lambda layer, x: (layer(tf.cast(x, tf.bfloat16)),
                                   layer.loss(tf.cast(x, tf.bfloat16), tf.constant([1, 2, 3]),
                                              layer.sample_negatives(3, 2))),
            output_dtype=tf.float32)


if __name__ == "__main__":
    tf.test.main()
