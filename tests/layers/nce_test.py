import numpy as np
import tensorflow as tf

from layers.nce import NCE
from layers.sampled_softmax import SampledSoftmax
from tests.layers import contract


class NCETest(tf.test.TestCase):

    def test_golden_eval_loss_is_the_full_softmax(self):
        head = NCE(num_items=3, dim=2, num_sampled=1)
        head(tf.zeros([1, 2]))
        head.item_embeddings.assign([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]])
        self.assertEqual(head(tf.constant([[1.0, 0.0]]))[0, 0], tf.float32.min)
        loss = head.loss(tf.constant([[1.0, 0.0]]), tf.constant([1]), training=False)
        self.assertAllClose(loss, [-np.log(np.e / (np.e + 1))])

    def test_golden_training_loss_is_binary_logistic(self):
        # One noise sample: loss = -log sigmoid(s_t - log Q_t) - log sigmoid(-(s_n - log Q_n)).
        head = NCE(num_items=3, dim=2, num_sampled=1, sampler="uniform")
        head(tf.zeros([1, 2]))
        head.item_embeddings.assign([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
        query, target = tf.constant([[1.0, 1.0]]), tf.constant([1])
        noise, q = 2, 0.5  # uniform over items 1..2: expected count 1 * 1/2
        scores = {1: 1.0, 2: 2.0}
        expected = (np.log1p(np.exp(-(scores[1] - np.log(q))))
                    + np.log1p(np.exp(scores[noise] - np.log(q))))
        # The sampler is random: fix its draw (shifted ids, as _sample returns them).
        head._sample = lambda labels: (tf.constant([noise - 1], tf.int64),
                                       tf.constant([[q]]), tf.constant([q]))
        self.assertAllClose(head.loss(query, target, training=True), [expected], atol=1e-5)

    def test_trains(self):
        head = NCE(num_items=50, dim=4, num_sampled=10)
        query = tf.Variable(tf.random.normal([32, 4], seed=1))
        targets = tf.constant(np.arange(32) % 49 + 1)
        optimizer = tf.keras.optimizers.Adam(0.05)
        first = None
        for _ in range(60):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(head.loss(query, targets, training=True))
            variables = [query] + head.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            first = loss if first is None else first
        self.assertLess(float(loss), 0.5 * float(first))
        self.assertIsInstance(head, SampledSoftmax)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, NCE(5, 3, num_sampled=2, sampler="uniform",
                                                    remove_accidental_hits=True))

    def test_mixed_bfloat16_logits_float32(self):
        contract.run_mixed_bfloat16(self, lambda: NCE(4, 2, num_sampled=2),
                                    tf.ones([2, 2], tf.bfloat16),
                                    call=lambda layer, x: layer(x)[:, 1:],
                                    output_dtype=tf.float32)


if __name__ == "__main__":
    tf.test.main()
