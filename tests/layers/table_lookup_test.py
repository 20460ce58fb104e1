import numpy as np
from absl.testing import parameterized
import tensorflow as tf

from layers import table_lookup
from layers.feature_embedding import FeatureEmbedding
from layers.nce import NCE
from layers.query_attention import QueryAttention
from layers.sampled_softmax import SampledSoftmax
from layers.sequence_pooling import SequencePooling
from tests.layers import contract

TABLE = np.array([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], np.float32)
IDS = np.array([[1, 2, 3], [3, 0, 0], [0, 0, 0]])
MASK = np.array([[True, True, False], [True, False, False], [False, False, False]])


def _grads(fn, *variables):
    with tf.GradientTape() as tape:
        out = fn()
        # A loss whose gradient differs per output element (not a plain sum).
        weights = tf.cast(tf.reshape(tf.range(tf.size(out)), tf.shape(out)), out.dtype)
        loss = tf.reduce_sum(tf.sin(out) * weights)
    return out, [tf.convert_to_tensor(g) for g in tape.gradient(loss, list(variables))]


class GatherTest(tf.test.TestCase, parameterized.TestCase):

    @parameterized.parameters(4, 300)  # the one-hot and the scatter gradient
    def test_same_values_and_gradient_as_tf_gather(self, rows):
        rng = np.random.default_rng(0)
        table = tf.Variable(rng.normal(size=(rows, 3)).astype(np.float32))
        ids = tf.constant(rng.integers(0, rows, size=(5, 7)))
        ours, ours_grad = _grads(lambda: table_lookup.gather(table, ids), table)
        ref, ref_grad = _grads(lambda: tf.gather(table, ids), table)
        self.assertAllClose(ours, ref)
        self.assertAllClose(ours_grad[0], ref_grad[0], atol=1e-5)


    def test_large_tables_keep_a_sparse_gradient(self):
        rows = table_lookup.DENSE_GRADIENT_MAX_ROWS + 1
        table = tf.Variable(tf.zeros([rows, 2]))
        ids = tf.constant([[1, rows - 1]])
        mask = tf.constant([[True, True]])
        for fn in (lambda: table_lookup.gather(table, ids),
                   lambda: table_lookup.pooled_lookup(table, ids, mask)):
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(fn())
            self.assertIsInstance(tape.gradient(loss, table), tf.IndexedSlices)


def _op_types(fn):
    """The op types of fn traced as a tf.function (its gradient code included)."""
    return {op.type for op in tf.function(fn).get_concrete_function().graph.get_operations()}


class TableSourceTest(tf.test.TestCase):
    """With dense_table_reads, training lookups gather from the table's value, never with a
    ResourceGather on the variable (which switches it to copy-on-read: see
    table_lookup.table_source); without, they gather on the variable, as tf.gather does."""

    def _train_step_ops(self, dense_table_reads):
        embedding = FeatureEmbedding({"item": [100, 4]}, {"item_id": "item"})
        head = SampledSoftmax(num_items=50, dim=4, num_sampled=5)
        nce = NCE(num_items=50, dim=4, num_sampled=5)
        for layer in (embedding, head, nce):
            layer.dense_table_reads = dense_table_reads
        ids = tf.constant([1, 7, 7, 99])

        def train_step():
            with tf.GradientTape() as tape:
                query = embedding({"item_id": ids})["item_id"]
                loss = tf.reduce_sum(head.loss(query, ids % 49 + 1, training=True)
                                     + nce.loss(query, ids % 49 + 1, training=True))
            return tape.gradient(loss, embedding.trainable_variables + head.trainable_variables
                                 + nce.trainable_variables)
        train_step()  # builds the variables
        return _op_types(train_step)

    def test_dense_table_reads_never_resource_gather_a_table(self):
        self.assertNotIn("ResourceGather", self._train_step_ops(dense_table_reads=True))
        self.assertIn("ResourceGather", self._train_step_ops(dense_table_reads=False))

    def test_same_rows_and_indexed_slices_gradient_either_way(self):
        embedding = FeatureEmbedding({"item": [10, 3]}, {"item_id": "item"})
        ids = tf.constant([[1, 7], [7, 0]])
        embedding({"item_id": ids})
        table = embedding.embeddings["item"]
        results = []
        for dense in (False, True):
            embedding.dense_table_reads = dense
            results.append(_grads(lambda: embedding({"item_id": ids})["item_id"], table))
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(embedding({"item_id": ids})["item_id"])
            self.assertIsInstance(tape.gradient(loss, table), tf.IndexedSlices)
        self.assertAllEqual(results[0][0], results[1][0])
        self.assertAllEqual(results[0][1][0], results[1][1][0])


class PooledLookupTest(tf.test.TestCase, parameterized.TestCase):

    def test_golden_values(self):
        mean = table_lookup.pooled_lookup(TABLE, IDS, MASK)
        self.assertAllClose(mean, [[2.0, 0.5], [0.5, 0.5], [0.0, 0.0]])
        total = table_lookup.pooled_lookup(TABLE, IDS, MASK, mode="sum")
        self.assertAllClose(total, [[4.0, 1.0], [0.5, 0.5], [0.0, 0.0]])

    @parameterized.parameters("mean", "sum")
    def test_same_as_sequence_pooling_values_and_gradient(self, mode):
        rng = np.random.default_rng(1)
        table = tf.Variable(rng.normal(size=(20, 4)).astype(np.float32))
        ids = tf.constant(rng.integers(0, 20, size=(6, 9)))
        mask = tf.constant(np.arange(9)[None] < rng.integers(0, 10, size=6)[:, None])
        ours, g = _grads(lambda: table_lookup.pooled_lookup(table, ids, mask, mode), table)
        ref, r = _grads(lambda: SequencePooling(mode)(tf.gather(table, ids), mask), table)
        self.assertAllClose(ours, ref, atol=1e-5)
        self.assertAllClose(g[0], r[0], atol=1e-5)

    def test_padding_never_matters(self):
        noisy = contract.fill_padding(IDS, MASK, high=len(TABLE))
        self.assertAllClose(table_lookup.pooled_lookup(TABLE, IDS, MASK),
                            table_lookup.pooled_lookup(TABLE, noisy, MASK))

    def test_rejects_max(self):
        with self.assertRaisesRegex(ValueError, "mode"):
            table_lookup.pooled_lookup(TABLE, IDS, MASK, mode="max")


class TableAttentionTest(tf.test.TestCase):

    def test_golden_value(self):
        # Query [1, 0]: scores 1 and 3 over rows 1 and 2 -> weights 1/(1+e^2), e^2/(1+e^2).
        query = tf.constant([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
        out = table_lookup.table_attention(query, TABLE, IDS, MASK)
        w = np.exp(2.0) / (1 + np.exp(2.0))
        expected = (1 - w) * TABLE[1] + w * TABLE[2]
        self.assertAllClose(out, [expected, TABLE[3], [0.0, 0.0]])

    def test_same_as_query_attention_over_gathered_keys(self):
        rng = np.random.default_rng(2)
        table = tf.Variable(rng.normal(size=(30, 4)).astype(np.float32))
        query = tf.Variable(rng.normal(size=(6, 4)).astype(np.float32))
        ids = tf.constant(rng.integers(0, 30, size=(6, 11)))  # repeated ids within rows too
        mask = tf.constant(np.arange(11)[None] < np.array([0, 1, 3, 11, 7, 5])[:, None])
        attention = QueryAttention()
        ours, g = _grads(lambda: table_lookup.table_attention(query, table, ids, mask),
                         query, table)
        ref, r = _grads(lambda: attention(query, tf.gather(table, ids), mask), query, table)
        self.assertAllClose(ours, ref, atol=1e-5)
        self.assertAllClose(g[0], r[0], atol=1e-5)
        self.assertAllClose(g[1], r[1], atol=1e-5)
        self.assertAllEqual(ours[0], [0.0] * 4)  # fully padded row

    def test_padding_never_matters(self):
        query = tf.constant([[0.3, -1.0], [2.0, 1.0], [1.0, 1.0]])
        noisy = contract.fill_padding(IDS, MASK, high=len(TABLE))
        self.assertAllClose(table_lookup.table_attention(query, TABLE, IDS, MASK),
                            table_lookup.table_attention(query, TABLE, noisy, MASK))

    def test_mixed_bfloat16_query(self):
        query = tf.constant([[0.3, -1.0], [2.0, 1.0], [1.0, 1.0]], tf.bfloat16)
        out = table_lookup.table_attention(query, TABLE, IDS, MASK)
        self.assertEqual(out.dtype, tf.bfloat16)
        self.assertTrue(np.all(np.isfinite(tf.cast(out, tf.float32).numpy())))


if __name__ == "__main__":
    tf.test.main()
