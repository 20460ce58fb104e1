import numpy as np
from absl.testing import parameterized
import tensorflow as tf

from layers.sampled_softmax import SampledSoftmax
from tests.layers import contract


class SampledSoftmaxTest(tf.test.TestCase, parameterized.TestCase):

    def _head(self, **kwargs):
        head = SampledSoftmax(num_items=3, dim=2, num_sampled=1, **kwargs)
        head(tf.zeros([1, 2]))
        head.item_embeddings.assign([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0]])
        return head

    def test_golden_full_softmax_excludes_padding(self):
        head = self._head()
        logits = head(tf.constant([[1.0, 0.0]]))
        self.assertEqual(logits[0, 0], tf.float32.min)  # padding row never ranks
        # Over items 1 and 2: logits (1, 0) -> p(1) = e / (e + 1).
        loss = head.loss(tf.constant([[1.0, 0.0]]), tf.constant([1]), training=False)
        self.assertAllClose(loss, [-np.log(np.e / (np.e + 1))])

    @parameterized.parameters("log_uniform", "uniform", "unigram")
    def test_sampled_loss_trains_and_never_samples_padding(self, sampler):
        counts = [0.0] + [float(50 - i) for i in range(49)] if sampler == "unigram" else None
        head = SampledSoftmax(num_items=50, dim=4, num_sampled=10, sampler=sampler,
                              unigram_counts=counts)
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
        sampled, _, _ = head._sample(targets[:, None] - 1)
        self.assertAllGreaterEqual(sampled + 1, 1)

    def test_argument_errors(self):
        with self.assertRaisesRegex(ValueError, "sampler"):
            SampledSoftmax(10, 2, sampler="zipf")
        with self.assertRaisesRegex(ValueError, "num_sampled"):
            SampledSoftmax(10, 2, num_sampled=10)
        with self.assertRaisesRegex(ValueError, "unigram_counts"):
            SampledSoftmax(10, 2, num_sampled=2, sampler="uniform", unigram_counts=[1] * 10)
        with self.assertRaisesRegex(ValueError, "sampler='unigram'"):
            SampledSoftmax(10, 2, num_sampled=2).set_unigram_counts([1] * 10)

    def test_unigram_sampler_draws_from_the_counts_variable(self):
        head = SampledSoftmax(num_items=4, dim=2, num_sampled=3, sampler="unigram")
        head.set_unigram_counts([0.0, 7.0, 1.0, 0.0])  # add-one: 8 : 2 : 1 over items 1..3
        self.assertIn(head.item_counts, head.non_trainable_variables)
        sample = tf.function(head._sample)
        draws = np.concatenate([sample(tf.constant([[0], [2]], tf.int64))[0].numpy()
                                for _ in range(500)])
        share = np.bincount(draws + 1, minlength=4)[1:] / len(draws)
        self.assertAllClose(share, [8 / 11, 2 / 11, 1 / 11], atol=0.04)
        _, true_expected, _ = head._sample(tf.constant([[0], [2]], tf.int64))
        self.assertAllClose(true_expected, [[3 * 8 / 11], [3 / 11]])

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, SampledSoftmax(
            5, 3, num_sampled=2, sampler="unigram", unigram_counts=[0, 4, 3, 2, 1],
            remove_accidental_hits=False))

    def test_mixed_bfloat16_logits_float32(self):
        contract.run_mixed_bfloat16(self, lambda: SampledSoftmax(4, 2, num_sampled=2),
                                    tf.ones([2, 2], tf.bfloat16),
                                    call=lambda layer, x: layer(x)[:, 1:],
                                    output_dtype=tf.float32)


if __name__ == "__main__":
    tf.test.main()
