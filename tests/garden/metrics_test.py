import itertools

import numpy as np
import tensorflow as tf

from garden import metrics


class MetricsTest(tf.test.TestCase):

    def test_auc_matches_pair_counting_with_ties(self):
        rng = np.random.default_rng(0)
        labels = rng.random(60) < 0.4
        scores = rng.integers(0, 6, 60).astype(float)  # many ties
        pairs = [(1.0 if s_p > s_n else 0.5 if s_p == s_n else 0.0)
                 for s_p, s_n in itertools.product(scores[labels], scores[~labels])]
        self.assertAllClose(metrics.auc(labels, scores), np.mean(pairs))
        self.assertTrue(np.isnan(metrics.auc([1, 1], [0.2, 0.3])))

    def test_gauc_weights_by_impressions_and_skips_single_class_users(self):
        labels = np.array([1, 0, 0, 1, 0, 1, 1, 1])
        scores = np.array([.9, .1, .5, .2, .3, .8, .1, .2])
        groups = np.array([1, 1, 2, 2, 2, 3, 3, 3])  # user 3 has only clicks: left out
        expected = (2 * 1.0 + 3 * 0.0) / 5
        self.assertAllClose(metrics.gauc(labels, scores, groups), expected)

    def test_logloss(self):
        self.assertAllClose(metrics.logloss([1, 0], [0.8, 0.4]),
                            -(np.log(0.8) + np.log(0.6)) / 2)

    def test_retrieval_metrics_hand_worked(self):
        ranks = np.array([1, 3, 60, 2])
        groups = np.array([7, 7, 8, 9])
        out = metrics.retrieval_metrics(ranks, groups, [2, 50])
        self.assertAllClose(out["hr@2"], 0.5)
        # user 7: 1 of 2 targets in the top 2; user 8: 0 of 1; user 9: 1 of 1.
        self.assertAllClose(out["recall@2"], (0.5 + 0 + 1) / 3)
        self.assertAllClose(out["ndcg@50"], (1 + 1 / np.log2(4) + 0 + 1 / np.log2(3)) / 4)
        self.assertAllClose(out["mrr"], (1 + 1 / 3 + 1 / 60 + 1 / 2) / 4)

    def test_popularity_ranks(self):
        counts = np.array([100, 5, 9, 9, 1])  # row 0 is padding and never ranks
        self.assertAllEqual(metrics.popularity_ranks(counts, np.array([2, 3, 1, 4])),
                            [1, 1, 3, 4])

    def test_tail_items_and_tail_recall_hand_worked(self):
        # 10 items: the 2 most counted (ids 3 and 1) are the head; ties favour the lower id.
        counts = np.array([0, 50, 5, 60, 5, 5, 1, 0, 2, 2, 3])
        tail = metrics.tail_items(counts)
        self.assertAllEqual(np.flatnonzero(~tail[1:]) + 1, [1, 3])
        self.assertFalse(tail[0])
        targets = np.array([1, 2, 7, 3, 9])
        ranks = np.array([1, 10, 80, 2, 3])
        groups = np.array([5, 5, 5, 6, 6])
        out = metrics.tail_recall(ranks, groups, targets, counts, [50])
        # Tail queries: user 5 targets 2 (rank 10) and 7 (rank 80): 1 of 2; user 6: 9 (rank 3).
        self.assertAllClose(out["tail_recall@50"], (0.5 + 1.0) / 2)
        self.assertAllClose(out["tail_share"], 3 / 5)
        none = metrics.tail_recall(ranks[[0, 3]], groups[[0, 3]], targets[[0, 3]], counts, [50])
        self.assertTrue(np.isnan(none["tail_recall@50"]))


if __name__ == "__main__":
    tf.test.main()
