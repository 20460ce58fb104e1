import numpy as np
import tensorflow as tf

from layers.in_batch_softmax import InBatchSoftmax
from tests.layers import contract

QUERY = tf.constant([[1.0, 0.0], [0.0, 1.0]])
ITEMS = tf.constant([[1.0, 0.0], [0.0, 2.0]])


def _ce(logits, label):
    logits = np.asarray(logits, np.float64)
    return np.log(np.exp(logits).sum()) - logits[label]


class InBatchSoftmaxTest(tf.test.TestCase):

    def test_golden_in_batch_loss(self):
        head = InBatchSoftmax(temperature=1.0, normalize=False, logq_correction=False)
        loss = head.loss(QUERY, ITEMS, tf.constant([4, 7]), training=True)
        self.assertAllClose(loss, [_ce([1, 0], 0), _ce([0, 2], 1)])

    def test_golden_normalized_with_temperature(self):
        head = InBatchSoftmax(temperature=0.5, normalize=True, logq_correction=False)
        scores = head([QUERY, ITEMS])  # unit vectors: cosines / 0.5
        self.assertAllClose(scores, [[2.0, 0.0], [0.0, 2.0]])

    def test_accidental_hits_are_not_negatives(self):
        head = InBatchSoftmax(temperature=1.0, normalize=False, logq_correction=False)
        loss = head.loss(QUERY, ITEMS, tf.constant([4, 4]), training=True)
        self.assertAllClose(loss, [0.0, 0.0])  # the other candidate is the same item
        kept = InBatchSoftmax(temperature=1.0, normalize=False, logq_correction=False,
                              remove_accidental_hits=False)
        self.assertAllClose(kept.loss(QUERY, ITEMS, tf.constant([4, 4]), training=True),
                            [_ce([1, 0], 0), _ce([0, 2], 1)])

    def test_logq_correction_subtracts_log_expected_count(self):
        head = InBatchSoftmax(temperature=1.0, normalize=False, alpha=0.5,
                              remove_accidental_hits=False)
        head.loss(QUERY, ITEMS, tf.constant([4, 7]), training=True)  # step 1: B = 1, 1
        head.loss(QUERY, ITEMS, tf.constant([4, 4]), training=True)  # step 2: B(4) = .25 + .25
        # Evaluation reads the estimates without updating: p(4) = 2, and p(7) = 1 (its one
        # sighting, at step 1, set B = 1).
        loss = head.loss(QUERY, ITEMS, tf.constant([4, 7]), training=False)
        p = np.array([2.0, 1.0])
        self.assertAllClose(loss, [_ce(np.array([1, 0]) - np.log(p), 0),
                                   _ce(np.array([0, 2]) - np.log(p), 1)], atol=1e-5)
        self.assertAllClose(head.estimator(tf.constant([4, 7])), p)

    def test_mixed_negatives_join_the_candidates(self):
        head = InBatchSoftmax(temperature=1.0, normalize=False, logq_correction=True,
                              num_negatives=1, num_items=5)
        negatives = head.sample_negatives()
        self.assertEqual(negatives.shape, [1])
        self.assertAllInRange(negatives, 1, 4)
        loss = head.loss(QUERY, ITEMS, tf.constant([1, 2]), training=True,
                         negative_vectors=tf.constant([[3.0, 3.0]]), negative_ids=[3])
        # Step 1: p = 1 for the batch items, 1 (unseen, 1 step) for item 3; plus 1/4 uniform.
        correction = np.log(1.25)
        self.assertAllClose(loss, [_ce(np.array([1, 0, 3]) - correction, 0),
                                   _ce(np.array([0, 2, 3]) - correction, 1)], atol=1e-5)
        with self.assertRaisesRegex(ValueError, "negative_vectors"):
            head.loss(QUERY, ITEMS, tf.constant([1, 2]))

    def test_learns_to_rank_the_target_first(self):
        head = InBatchSoftmax(temperature=0.1)
        query = tf.Variable(tf.random.normal([16, 4], seed=2))
        items = tf.Variable(tf.random.normal([16, 4], seed=3))
        ids = tf.range(1, 17)
        optimizer = tf.keras.optimizers.Adam(0.05)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(head.loss(query, items, ids, training=True))
            grads = tape.gradient(loss, [query, items])
            optimizer.apply_gradients(zip(grads, [query, items]))

        for _ in range(100):
            step()
        scores = head([query, items]).numpy()
        self.assertAllEqual(scores.argmax(axis=1), np.arange(16))

    def test_argument_errors(self):
        with self.assertRaisesRegex(ValueError, "temperature"):
            InBatchSoftmax(temperature=0.0)
        with self.assertRaisesRegex(ValueError, "num_items"):
            InBatchSoftmax(num_negatives=4)

    def test_config_round_trip(self):
        contract.assert_config_round_trip(self, InBatchSoftmax(
            temperature=0.2, normalize=False, logq_correction=True, remove_accidental_hits=False,
            num_negatives=3, num_items=10, num_buckets=64, num_hashes=3, alpha=0.1))

    def test_mixed_bfloat16_scores_float32(self):
        def run(layer, x):
            q, v = tf.cast(x[0], tf.bfloat16), tf.cast(x[1], tf.bfloat16)
            return layer([q, v]), layer.loss(q, v, [1, 2], training=True)
        # The contract checks that every variable is float32; the estimator's step counters
        # are int64, so it runs without the correction, and the correction is checked below.
        contract.run_mixed_bfloat16(self, lambda: InBatchSoftmax(logq_correction=False),
                                    (QUERY, ITEMS), call=run, output_dtype=tf.float32)
        previous = tf.keras.mixed_precision.global_policy()
        tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
        try:
            scores, loss = run(InBatchSoftmax(), (QUERY, ITEMS))
        finally:
            tf.keras.mixed_precision.set_global_policy(previous)
        self.assertEqual(loss.dtype, tf.float32)
        self.assertTrue(np.all(np.isfinite(loss.numpy())))

if __name__ == "__main__":
    tf.test.main()
