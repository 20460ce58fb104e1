import numpy as np
import tensorflow as tf

from layers.ffm import FieldAwareFM
from tests.layers import contract


def brute_force(v):
    f = v.shape[1]
    return sum(np.sum(v[:, i, j] * v[:, j, i], axis=-1) for i in range(f) for j in range(i + 1, f))


class FieldAwareFMTest(tf.test.TestCase):

    def test_golden_value(self):
        # 3 fields, k = 1; v[i][j] is field i's weight toward field j (diagonal unused: 100).
        # Pairs: v01 v10 = 2 * 3, v02 v20 = 4 * 5, v12 v21 = 6 * 7 -> 6 + 20 + 42 = 68.
        v = tf.constant([[[[100.0], [2.0], [4.0]],
                          [[3.0], [100.0], [6.0]],
                          [[5.0], [7.0], [100.0]]]])
        self.assertAllClose(FieldAwareFM()(v), [[68.0]])

    def test_matches_brute_force_pairs(self):
        v = np.random.default_rng(0).normal(size=(4, 5, 5, 3)).astype(np.float32)
        out = FieldAwareFM()(v)
        self.assertEqual(out.shape, (4, 1))
        self.assertAllClose(out[:, 0], brute_force(v), rtol=1e-5, atol=1e-5)

    def test_field_aware_differs_from_fm(self):
        # With every field using the same vector toward all fields it is plain FM.
        base = np.random.default_rng(1).normal(size=(2, 4, 3)).astype(np.float32)
        v = np.repeat(base[:, :, None, :], 4, axis=2)
        fm = sum(np.sum(base[:, i] * base[:, j], -1) for i in range(4) for j in range(i + 1, 4))
        self.assertAllClose(FieldAwareFM()(v)[:, 0], fm, rtol=1e-5, atol=1e-5)

    def test_rejects_wrong_rank(self):
        with self.assertRaisesRegex(ValueError, r"\[B, F, F, k\]"):
            FieldAwareFM()(tf.zeros([2, 3, 4]))

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, FieldAwareFM(name="ffm"))

    def test_mixed_bfloat16_reduces_in_float32(self):
        v = np.random.default_rng(2).normal(size=(2, 3, 3, 4)).astype(np.float32)
        contract.run_mixed_bfloat16(self, FieldAwareFM, tf.constant(v), output_dtype=tf.float32)


if __name__ == "__main__":
    tf.test.main()
