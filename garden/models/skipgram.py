"""Item-embedding learners trained with skip-gram and negative sampling, as retrieval models.

The base of item2vec, deepwalk, node2vec and eges. `prepare(train_pattern)` reads the
training sequences and turns them into (center, context) item pairs: directly (item2vec) or
through random walks on the item transition graph (deepwalk, node2vec, eges). Each training
step draws `pairs_per_step` of these pairs at random (the batch of examples Keras feeds is
not read) and `negatives` noise items per pair from count ** 0.75.

Query: the input vector of the user's last item of `sequence`, or the mean of the last
`query_items` items. On the synthetic world the last item alone retrieves best for all four
models (HR@50 0.60-0.64 against 0.53-0.56 for the mean of the last 50, falling steadily with
N): a user's next item mostly shares the category of the item just before it (the session's
intent), and older items mix in the user's other interests. Hence query_items = 1.
Scores: query . context vector + log P_noise (NegativeSampling), i.e. skip-gram's estimate of
log P(item | recent items), over the whole corpus.
"""
import dataclasses
import os

import numpy as np
import tensorflow as tf

from garden import walks
from garden.config import ConfigError, check_positive
from garden.tasks.retrieval import RetrievalModel
from input.reader import list_files, parse_batch
from layers.negative_sampling import NegativeSampling
from layers.sequence_pooling import SequencePooling


@dataclasses.dataclass
class SkipGramConfig:
    embedding_dim: int = 32
    sequence: str = "hist_item_id"  # behaviour sequence: training pairs / graph, and the query
    window: int = 5  # context: items at most this far apart in a sequence or walk
    negatives: int = 5  # noise items per pair, drawn from count ** 0.75
    pairs_per_step: int = 4096
    query_items: int = 1  # the query is the mean of the last N items of `sequence`
    noise_correction: bool = True  # add log P_noise to the scores (see NegativeSampling)
    top_k: int = 100  # items returned by the exported serving_default signature

    def __post_init__(self):
        check_positive(self, "model", "embedding_dim", "window", "negatives",
                       "pairs_per_step", "query_items", "top_k")


@dataclasses.dataclass
class WalkConfig(SkipGramConfig):
    walks_per_node: int = 10  # walks started at every item with out-edges
    walk_length: int = 20
    seed: int = 0  # of the walks (numpy), so that prepare is reproducible

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "model", "walks_per_node", "walk_length")
        if self.walk_length < 2:
            raise ConfigError(f"model.walk_length must be >= 2, got {self.walk_length}")


def check_sequence(schema, name, item):
    """`name` must be a sequence of the item table (it feeds vectors of `item` ids)."""
    if name not in schema:
        raise ConfigError(f"model.sequence: no feature {name!r} in the schema")
    if schema[name].kind != "sequence" or schema[name].table != schema[item].table:
        raise ConfigError(f"model.sequence: {name!r} must be a sequence of {item!r} ids")


def read_columns(schema, pattern, names):
    """The given features of every record of `pattern` as numpy arrays (sequences come with
    their `<name>_len`), one pass, parsing only those features."""
    ds = tf.data.TFRecordDataset(list_files(pattern), num_parallel_reads=4).batch(8192)
    ds = ds.map(lambda s: parse_batch(schema, s, names=names)[0], tf.data.AUTOTUNE)
    columns = {}
    for batch in ds.prefetch(2):
        for key, value in batch.items():
            columns.setdefault(key, []).append(value.numpy())
    if not columns:
        raise ValueError(f"{pattern}: no training records")
    return {key: np.concatenate(values) for key, values in columns.items()}


def last_items(padded, lengths):
    """The last valid id of each left-aligned padded row, 0 for an empty row."""
    rows = np.arange(len(lengths))
    return np.where(lengths > 0, padded[rows, np.maximum(lengths - 1, 0)], 0)


class SkipGramModel(RetrievalModel):
    """Subclasses implement `item_vectors(ids)` (the input vectors, [..., d]) and
    `training_pairs(columns, num_items)` -> (centers, contexts) from the training columns
    (`read_names()` of them)."""

    def __init__(self, schema, task, cfg):
        check_sequence(schema, cfg.sequence, task.item)
        super().__init__([cfg.sequence], task.item, cfg.top_k)
        self.cfg = cfg
        self.schema = schema
        self.num_items = schema.vocab_size(task.item)
        self.head = NegativeSampling(self.num_items, cfg.embedding_dim,
                                     noise_correction=cfg.noise_correction)
        self.head.build()  # now, so that a restored model has its scores without a call
        self.pooling = SequencePooling("mean")
        self.pairs = None  # [P, 2] int64 (center, context), set by prepare; training only

    def read_names(self):
        return [self.target, self.cfg.sequence]

    def prepare(self, train_pattern):
        self.prepare_columns(read_columns(self.schema, train_pattern, self.read_names()),
                             train_pattern)

    def prepare_columns(self, columns, train_pattern):
        """prepare() on the training columns already read: pairs and noise counts."""
        centers, contexts = self.training_pairs(columns, self.num_items)
        if not len(centers):
            raise ValueError(f"{train_pattern}: the training sequences give no item pairs")
        self.head.set_counts(np.bincount(contexts, minlength=self.num_items))
        self.pairs = tf.constant(np.stack([centers, contexts], axis=1))

    def training_pairs(self, columns, num_items):
        raise NotImplementedError

    def item_vectors(self, ids):
        raise NotImplementedError

    def item_embeddings(self):
        """Every item's input vector: numpy [num_items, d] (row 0 is padding)."""
        return self.item_vectors(tf.range(self.num_items, dtype=tf.int64)).numpy()

    def index_items(self):
        """The head's context vectors with its additive term (log P_n, or 0) as one more
        column; items the head never scores (padding, zero count) get a zero vector and the
        float32 minimum, as in the head's own scores."""
        head = self.head
        known = head.log_noise > head.log_noise.dtype.min
        bias = tf.where(known, head.log_noise if head.noise_correction else 0.0,
                        head.log_noise.dtype.min)
        vectors = tf.where(known[:, None], head.context_embeddings, 0.0)
        return tf.concat([vectors, bias[:, None]], axis=1)

    def call(self, features, training=False):
        ids = features[self.cfg.sequence]
        lengths = features[f"{self.cfg.sequence}_len"]
        position = tf.range(tf.shape(ids)[1])[None, :]
        lengths = tf.cast(lengths, position.dtype)[:, None]
        recent = (position < lengths) & (position >= lengths - self.cfg.query_items)
        return self.pooling(self.item_vectors(ids), recent)

    def task_loss(self, batch, training):
        if not training:  # held-out loss: full softmax over the corpus
            return self._eval_loss(batch)
        if self.pairs is None:
            raise RuntimeError(f"{self.name}: call prepare(train_pattern) before training")
        n = self.cfg.pairs_per_step
        rows = tf.random.uniform([n], 0, tf.shape(self.pairs, out_type=tf.int64)[0],
                                 dtype=tf.int64)
        pairs = tf.gather(self.pairs, rows)
        negatives = self.head.sample_negatives(n, self.cfg.negatives)
        per_pair = self.head.loss(self.item_vectors(pairs[:, 0]), pairs[:, 1], negatives)
        return tf.nn.compute_average_loss(per_pair)

    def _eval_loss(self, batch):
        features, _ = batch
        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(
            tf.cast(features[self.target], tf.int64), self.scores(features))
        return tf.nn.compute_average_loss(per_example)


class ItemTableModel(SkipGramModel):
    """A skip-gram model whose input vectors are one table of item ids."""

    def __init__(self, schema, task, cfg):
        super().__init__(schema, task, cfg)
        d = cfg.embedding_dim
        # word2vec's start: small uniform input vectors, zero context vectors.
        self.item_embedding = tf.keras.layers.Embedding(
            self.num_items, d, embeddings_initializer=tf.keras.initializers.RandomUniform(
                -0.5 / d, 0.5 / d), name="item_embedding")

    def item_vectors(self, ids):
        return self.item_embedding(ids)


def walk_pairs(columns, cfg, target, num_items, p=1.0, q=1.0):
    """Skip-gram pairs of random walks on the transition graph of the training data (last
    item of `cfg.sequence` -> target), `cfg.walks_per_node` walks from every item that has
    out-edges."""
    graph = walks.transition_graph(*transitions(columns, cfg.sequence, target), num_items)
    starts = np.repeat(np.flatnonzero(graph.out_degree() > 0), cfg.walks_per_node)
    rng = np.random.default_rng(cfg.seed)
    paths = walks.random_walks(graph, rng.permutation(starts), cfg.walk_length, rng, p=p, q=q)
    return walks.skipgram_pairs(paths, cfg.window)


def sequence_pairs(sequence, lengths, targets, window):
    """Skip-gram pairs of a target and each of the last `window` items before it, both
    directions: over a user's event stream (one example per event) that is every pair of
    events at most `window` apart, exactly once per direction."""
    position = np.arange(sequence.shape[1])[None, :]
    near = (position < lengths[:, None]) & (position >= lengths[:, None] - window)
    near &= sequence > 0
    rows, cols = np.nonzero(near)
    before, after = sequence[rows, cols], targets[rows]
    keep = after > 0
    before, after = before[keep], after[keep]
    return np.concatenate([before, after]), np.concatenate([after, before])


def transitions(columns, sequence, target):
    """(previous item, next item) for every example: the last item of `sequence` -> target."""
    return last_items(columns[sequence], columns[f"{sequence}_len"]), columns[target]


def catalog_path(train_pattern, name):
    """`name` (items.csv) beside the training files, or None when there is none."""
    if not name:
        return None
    path = os.path.join(os.path.dirname(train_pattern), name)
    return path if os.path.exists(path) else None
