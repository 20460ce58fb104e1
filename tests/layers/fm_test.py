import numpy as np
import tensorflow as tf

from layers.fm import FactorizationMachine
from tests.layers import contract


class FactorizationMachineTest(tf.test.TestCase):

    def test_golden_value(self):
        # Pairs: <(1,2),(3,4)> = 11, <(1,2),(5,6)> = 17, <(3,4),(5,6)> = 39.
        v = tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
        self.assertAllClose(FactorizationMachine()(v), [[67.0]])

    def test_matches_brute_force_pairs(self):
        v = np.random.default_rng(0).normal(size=(4, 6, 5)).astype(np.float32)
        brute = sum(np.sum(v[:, i] * v[:, j], axis=1) for i in range(6) for j in range(i + 1, 6))
        out = FactorizationMachine()(v)
        self.assertEqual(out.shape, (4, 1))
        self.assertAllClose(out[:, 0], brute, rtol=1e-5, atol=1e-5)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, FactorizationMachine(name="fm"))

    def test_mixed_bfloat16_reduces_in_float32(self):
        v = np.random.default_rng(1).normal(size=(2, 3, 4)).astype(np.float32)
        contract.run_mixed_bfloat16(self, FactorizationMachine, tf.constant(v),
                                    output_dtype=tf.float32)


if __name__ == "__main__":
    tf.test.main()
