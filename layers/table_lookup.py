"""Lookups in small embedding tables whose gradients are dense and cheap to train.

tf.gather's gradient on a table is an IndexedSlices with one row per looked-up position; the
optimizer then adds those rows up per table row (a segment sum, slowest when many positions
fall on few rows: 61,440 rows into 14 take longer than into 1,334 on CPU). For the small
tables of the synthetic retrieval world (14 to 1,334 rows) these functions give the same
values and the same gradients (up to float rounding) for less work. Tables are float32
(FeatureEmbedding's); outputs are in the table's dtype unless said otherwise.
"""
import tensorflow as tf

from layers.masking import masked_softmax

ONE_HOT_MAX_ROWS = 64  # up to this many rows, a one-hot matmul adds the gradient rows fastest
# Above this many rows gather() is tf.gather: a dense gradient would cost a pass over the
# whole table per step (optimizers other than the garden's Adam update IndexedSlices sparsely).
DENSE_GRADIENT_MAX_ROWS = 1 << 16


def _scatter_rows(values, ids, num_rows):
    """sum of values[n] into row ids[n] -> [num_rows, dim] (values [N, dim], ids [N])."""
    if num_rows <= ONE_HOT_MAX_ROWS:
        return tf.matmul(tf.one_hot(ids, num_rows, dtype=values.dtype), values,
                         transpose_a=True)
    return tf.tensor_scatter_nd_add(tf.zeros([num_rows, values.shape[-1]], values.dtype),
                                    ids[:, None], values)


def table_source(table, dense_reads):
    """What to gather a table variable's rows from: with dense_reads, the variable's value
    (one dense read); otherwise, and always under a parameter-server strategy, the variable.

    A ResourceGather (tf.gather on the variable itself) switches the variable, for the rest
    of the process, to TensorFlow's copy-on-read mode, in which every dense update of it
    first copies the whole table: the garden's Adam updates tables densely, and on the
    Criteo-shaped tables that copy took a third of its time. Gathering from the value gives
    the same rows and the same IndexedSlices gradient and keeps the variable out of that
    mode. With an optimizer that updates tables sparsely (SGD, Adagrad: a scatter, which
    itself sets the mode) a dense read would copy the table instead, so layers read densely
    only when GardenModel.compile sets their dense_table_reads for such an optimizer. Under
    a parameter-server strategy a table (or each shard) lives on a server, where gathering
    sends back only the rows."""
    strategy = tf.distribute.get_strategy()
    if not dense_reads or isinstance(strategy, tf.distribute.experimental.ParameterServerStrategy):
        return table
    return tf.convert_to_tensor(table)


def gather(table, ids):
    """table [V, dim] rows at ids (any shape) -> [*ids.shape, dim], like tf.gather, with a
    dense [V, dim] gradient for the table (summed by _scatter_rows) when V is at most
    DENSE_GRADIENT_MAX_ROWS."""
    if table.shape[0] > DENSE_GRADIENT_MAX_ROWS:
        return tf.gather(table, ids)
    table = tf.convert_to_tensor(table)
    ids = tf.cast(ids, tf.int32)

    @tf.custom_gradient
    def lookup(table):
        def grad(upstream):
            flat = tf.reshape(tf.cast(upstream, table.dtype), [-1, table.shape[-1]])
            return _scatter_rows(flat, tf.reshape(ids, [-1]), table.shape[0])
        return tf.gather(table, ids), grad
    return lookup(table)


def pooled_lookup(table, ids, mask, mode="mean"):
    """The masked mean (or sum) of the rows of `table` that `ids` [B, L] names at the valid
    positions of `mask` [B, L] -> [B, dim]: SequencePooling over tf.gather(table, ids), in one
    sparse-segment kernel over the valid positions only. The [B, L, dim] embeddings are never
    made and the table's gradient is one dense scatter of the valid rows (an IndexedSlices of
    them above DENSE_GRADIENT_MAX_ROWS rows). Empty rows: zeros."""
    if mode not in ("mean", "sum"):
        raise ValueError(f"pooled_lookup: mode must be 'mean' or 'sum', got {mode!r}")
    positions = tf.where(mask)  # row-major, so the segment ids (rows) come sorted
    rows = tf.gather_nd(tf.cast(ids, tf.int64), positions)
    reduce = tf.sparse.segment_mean if mode == "mean" else tf.sparse.segment_sum
    return reduce(table, rows, positions[:, 0], num_segments=tf.shape(ids, tf.int64)[0],
                  sparse_gradient=table.shape[0] > DENSE_GRADIENT_MAX_ROWS)


def table_attention(query, table, ids, mask):
    """QueryAttention (inner product, no scaling) of query [B, dim] over the rows of `table`
    [V, dim] at ids [B, L], keys = values, valid where mask [B, L] -> [B, dim] in the
    query's dtype, computed on the table's side:
        scores = (query @ table^T)[b, ids[b, l]],   alpha = masked softmax over l,
        output = A @ table with A[b, v] = sum of alpha[b, l] over the l where ids[b, l] = v.
    The same sums as attending over tf.gather(table, ids), without the [B, L, dim] keys: for
    a table of V rows it costs about 8 B V dim multiply-adds with the gradients, which beats
    the gather path (and its segment-sum gradient) when V is well under L x (ops per
    element): SDM uses it for tables of up to its TABLE_ATTENTION_MAX_ROWS (2,048; measured
    faster there, 1,334 rows: 5.1 against 8.5 ms forward and backward). A fully padded row
    outputs zeros."""
    num_rows = table.shape[0]
    table = tf.cast(table, query.dtype)
    ids = tf.cast(ids, tf.int32)
    all_scores = tf.matmul(query, table, transpose_b=True)  # [B, V]
    weights = masked_softmax(tf.gather(all_scores, ids, batch_dims=1), mask)  # [B, L] float32
    rows = tf.range(tf.shape(ids)[0])[:, None] * num_rows + ids  # [B, L] into [B * V]
    per_row = tf.math.unsorted_segment_sum(tf.reshape(weights, [-1]), tf.reshape(rows, [-1]),
                                           tf.shape(ids)[0] * num_rows)
    per_row = tf.reshape(per_row, [-1, num_rows])
    return tf.matmul(tf.cast(per_row, query.dtype), table)
