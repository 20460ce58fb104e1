import numpy as np
from absl.testing import parameterized
import tensorflow as tf

from layers.sequence_pooling import SequencePooling
from tests.layers import contract

VALUES = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, -100.0]],
                   [[5.0, -1.0], [7.0, 7.0], [9.0, 9.0]]], np.float32)
MASK = np.array([[True, True, False], [True, False, False]])


class SequencePoolingTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(("mean", [[2.0, 3.0], [5.0, -1.0]]),
                              ("sum", [[4.0, 6.0], [5.0, -1.0]]),
                              ("max", [[3.0, 4.0], [5.0, -1.0]]))
    def test_golden_values(self, mode, expected):
        self.assertAllClose(SequencePooling(mode)(VALUES, MASK), expected)

    @parameterized.parameters("mean", "sum", "max")
    def test_padding_never_matters_and_empty_rows_are_zero(self, mode):
        layer = SequencePooling(mode)
        noisy = contract.fill_padding(VALUES, MASK)
        self.assertAllClose(layer(VALUES, MASK), layer(noisy, MASK))
        empty = layer(VALUES, np.zeros_like(MASK))
        self.assertAllEqual(empty, np.zeros((2, 2)))

    def test_rejects_unknown_mode(self):
        with self.assertRaisesRegex(ValueError, "mode"):
            SequencePooling("median")

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, SequencePooling("max"))

    def test_mixed_bfloat16(self):
        contract.run_mixed_bfloat16(self, lambda: SequencePooling("max"),
                                    (tf.constant(VALUES), tf.constant(MASK)),
                                    call=lambda layer, x: layer(tf.cast(x[0], tf.bfloat16), x[1]))


if __name__ == "__main__":
    tf.test.main()
