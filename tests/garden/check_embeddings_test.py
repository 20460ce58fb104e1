"""Embedding health metrics on tables with known structure."""
import numpy as np
import tensorflow as tf

from garden import check_embeddings as ce


def clustered(n=400, dim=16, categories=8, noise=0.3, seed=0):
    """A table whose rows sit around one random centre per category (row 0: padding)."""
    rng = np.random.default_rng(seed)
    cats = rng.integers(1, categories + 1, n)
    cats[0] = 0
    centres = rng.normal(size=(categories + 1, dim))
    return centres[cats] + noise * rng.normal(size=(n, dim)), cats


class CheckEmbeddingsTest(tf.test.TestCase):

    def test_a_clustered_table_is_healthy(self):
        table, cats = clustered()
        counts = np.ones(len(table))
        values = ce.health(table, cats, counts, initial=table * 0)
        self.assertGreater(values["knn_lift"], 5)
        self.assertLess(values["mean_cosine"], 0.3)
        self.assertGreater(values["effective_rank"], 5)
        self.assertEqual(values["seen_never_updated"], 0.0)
        self.assertEqual(ce.failures(values), [])

    def test_bad_tables_fail(self):
        table, cats = clustered()
        counts = np.ones(len(table))
        rng = np.random.default_rng(1)
        collapsed = np.ones_like(table) + 1e-3 * rng.normal(size=table.shape)
        reasons = " ".join(ce.failures(ce.health(collapsed, cats, counts)))
        self.assertIn("collapse", reasons)
        self.assertIn("kNN", reasons)
        rank_one = np.outer(rng.normal(size=len(table)), rng.normal(size=table.shape[1]))
        self.assertIn("effective rank", " ".join(ce.failures(ce.health(rank_one, cats, counts))))
        random = rng.normal(size=table.shape)  # no category structure
        self.assertIn("kNN", " ".join(ce.failures(ce.health(random, cats, counts))))
        self.assertEqual(ce.failures(ce.health(table * np.nan, cats, counts)),
                         ["non-finite values in the table"])

    def test_never_updated_and_never_seen(self):
        table, cats = clustered(n=101)
        initial = table.copy()
        table[1:51] += 0.5  # rows 1..50 moved
        counts = np.zeros(101)
        counts[1:76] = 3  # ids 1..75 in the training data
        values = ce.health(table, cats, counts, initial)
        self.assertAllClose(values["never_updated"], 0.5)
        self.assertAllClose(values["never_seen"], 0.25)
        self.assertAllClose(values["seen_never_updated"], 25 / 75)
        self.assertIn("never updated", " ".join(ce.failures(values)))

    def test_popularity_buckets(self):
        buckets = ce.popularity_buckets(np.array([9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), buckets=5)
        self.assertEqual(buckets[1], 0)  # never seen
        self.assertEqual(list(buckets[2:]), [1, 1, 2, 2, 3, 3, 4, 4, 5])
