import numpy as np
import tensorflow as tf

from layers.full_softmax import FullSoftmax
from tests.layers import contract


class FullSoftmaxTest(tf.test.TestCase):

    def test_golden_loss_excludes_padding(self):
        head = FullSoftmax(num_items=3, dim=2)
        head(tf.zeros([1, 2]))
        head.item_embeddings.assign([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]])
        head.item_biases.assign([0.0, 0.0, 0.5])
        logits = head(tf.constant([[1.0, 0.0]]))
        self.assertEqual(logits[0, 0], tf.float32.min)
        self.assertAllClose(logits[0, 1:], [1.0, 0.5])
        for training in (True, False):  # exact in both
            loss = head.loss(tf.constant([[1.0, 0.0]]), tf.constant([1]), training=training)
            self.assertAllClose(loss, [np.log(np.e + np.exp(0.5)) - 1.0])

    def test_argument_errors(self):
        with self.assertRaisesRegex(ValueError, "num_items"):
            FullSoftmax(1, 4)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, FullSoftmax(7, 3))

    def test_mixed_bfloat16_logits_float32(self):
        contract.run_mixed_bfloat16(self, lambda: FullSoftmax(4, 2),
                                    tf.ones([2, 2], tf.bfloat16),
                                    call=lambda layer, x: layer(x)[:, 1:],
                                    output_dtype=tf.float32)


if __name__ == "__main__":
    tf.test.main()
