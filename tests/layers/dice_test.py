import numpy as np
import tensorflow as tf

from layers.dice import Dice
from tests.layers import contract


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


class DiceTest(tf.test.TestCase):

    def test_golden_value_in_inference(self):
        layer = Dice()
        x = tf.constant([[1.0, -2.0]])
        layer(x)
        layer.alpha.assign([0.5, 0.5])
        # Moving moments start at mean 0, variance 1: p = sigmoid(x).
        p = _sigmoid(np.array([1.0, -2.0]))
        expected = p * [1.0, -2.0] + (1 - p) * 0.5 * np.array([1.0, -2.0])
        self.assertAllClose(layer(x, training=False), [expected], atol=1e-6)

    def test_training_uses_batch_moments_and_updates_moving_ones(self):
        layer = Dice(momentum=0.9)
        x = tf.constant([[1.0], [3.0]])  # mean 2, variance 1
        out = layer(x, training=True)
        p = _sigmoid(np.array([-1.0, 1.0]))
        self.assertAllClose(out, (p * [1.0, 3.0])[:, None], atol=1e-6)  # alpha = 0
        self.assertAllClose(layer.moving_mean, [0.2])
        self.assertAllClose(layer.moving_variance, [0.9 * 1 + 0.1 * 1])

    def test_padding_never_matters(self):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(3, 5, 4)).astype(np.float32)
        mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0] * 5], bool)
        layer = Dice()
        layer(x)
        layer.alpha.assign([0.1, 0.2, 0.3, 0.4])
        for training in (True, False):
            clean = layer(x, mask=mask, training=training)
            noisy = layer(contract.fill_padding(x, mask), mask=mask, training=training)
            self.assertAllClose(clean, noisy, atol=1e-5)
            self.assertAllEqual(clean.numpy()[~mask], np.zeros(((~mask).sum(), 4)))
            self.assertTrue(np.all(np.isfinite(clean.numpy())))

    def test_rejects_bad_momentum(self):
        with self.assertRaisesRegex(ValueError, "momentum"):
            Dice(momentum=1.0)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, Dice(epsilon=1e-6, momentum=0.9))

    def test_mixed_bfloat16(self):
        mask = tf.constant([[True, False, True]])
        contract.run_mixed_bfloat16(self, Dice, tf.random.normal([1, 3, 4]),
                                    call=lambda layer, x: layer(x, mask=mask, training=True))


if __name__ == "__main__":
    tf.test.main()
