"""Calibration: Platt and isotonic fits, their TensorFlow twins, ECE and the PNG writer."""
import numpy as np
import tensorflow as tf

from garden import calibration, plot


def miscalibrated(n=20000, seed=0):
    """Logits whose true click probability is sigmoid(0.5 * logit - 1)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-(0.5 * logits - 1)))).astype(float)
    return logits, labels


class CalibrationTest(tf.test.TestCase):

    def test_platt_recovers_the_true_map(self):
        logits, labels = miscalibrated()
        c = calibration.fit_platt(logits, labels)
        self.assertAllClose([c.a, c.b], [0.5, -1.0], atol=0.06)

    def test_isotonic_is_monotone_and_pools_violators(self):
        c = calibration.fit_isotonic([0.0, 1.0, 2.0, 3.0], [0, 1, 0, 1])
        # Blocks: {0} -> 0, {1, 2} -> 0.5 at mean logit 1.5, {3} -> 1.
        self.assertAllClose(c.x, [0.0, 1.5, 3.0])
        self.assertAllClose(c.y, [0.0, 0.5, 1.0])
        logits, labels = miscalibrated()
        c = calibration.fit_isotonic(logits, labels)
        self.assertTrue(np.all(np.diff(c.y) > 0) and np.all(np.diff(c.x) > 0))
        # Tied logits with increasing labels would make two blocks at one logit: one knot.
        ties = calibration.fit_isotonic([0.0, 0.0, 1.0], [0.0, 0.5, 1.0])
        self.assertAllClose(ties.x, [0.0, 1.0])
        self.assertAllClose(ties.y, [0.25, 1.0])

    def test_tensorflow_apply_matches_numpy(self):
        logits, labels = miscalibrated(5000)
        probe = np.linspace(-9, 9, 301)  # beyond both ends of the knots too
        for method in calibration.METHODS:
            c = calibration.fit(method, logits, labels)
            self.assertAllClose(c.apply_tf(tf.constant(probe, tf.float32)).numpy(),
                                c.apply_np(probe), atol=1e-5, msg=method)

    def test_reliability_by_hand(self):
        r = calibration.reliability([0, 1, 0, 0], [0.15, 0.15, 0.85, 0.85], buckets=10)
        # bucket [0.1, 0.2): predicted 0.15, observed 0.5; bucket [0.8, 0.9): 0.85 vs 0.
        self.assertAllClose(r["ece"], 0.5 * 0.35 + 0.5 * 0.85)
        self.assertAllClose(r["buckets"][0]["ratio"], 0.3)
        self.assertIsNone(r["buckets"][1]["ratio"])
        self.assertAllClose(r["predicted_over_observed"], 2.0)

    def test_calibration_lowers_ece_on_held_out_data(self):
        logits, labels = miscalibrated(40000)
        before = calibration.reliability(labels[1::2], 1 / (1 + np.exp(-logits[1::2])))
        for method in calibration.METHODS:
            c = calibration.fit(method, logits[::2], labels[::2])
            after = calibration.reliability(labels[1::2], c.apply_np(logits[1::2]))
            self.assertLess(after["ece"], 0.02, method)
            self.assertGreater(before["ece"], 0.1)

    def test_bad_method_is_a_clear_error(self):
        with self.assertRaisesRegex(ValueError, "--calibrate must be one of"):
            calibration.fit("beta", [0.0], [1.0])

    def test_png_writer(self):
        path = self.get_temp_dir() + "/x.png"
        canvas = plot.Canvas(width=40, height=30)
        canvas.axes()
        canvas.line([0, 1], [0, 1], (255, 0, 0))
        canvas.save(path)
        self.assertEqual(plot.read_png_size(path), (40, 30))
        self.assertTrue((canvas.pixels == [255, 0, 0]).all(axis=-1).any())
