"""RetrievalModel: a query tower scored against every item by a softmax head."""
import tensorflow as tf

from garden.tasks.base import GardenModel


class RetrievalModel(GardenModel):
    """Subclasses implement call(features, training) -> query vectors [B, d] and set
    `self.head`, a layer with loss(query, targets, training) and call(query) -> logits over
    all items (SampledSoftmax).

    The target item id is features[target]; the query tower must not read it. Serving
    returns the query vector and the top-K items over the whole corpus.
    """
    task = "retrieval"

    def __init__(self, feature_names, target, top_k=100, **kwargs):
        super().__init__(feature_names, **kwargs)
        if target in feature_names:
            raise ValueError(f"the query tower reads the target {target!r}")
        self.target = target
        self.top_k = int(top_k)

    @property
    def training_features(self):
        """The query tower's features and the target item."""
        return sorted(set(self.feature_names) | {self.target})

    def task_loss(self, batch, training):
        features, _ = batch
        query = self(features, training=training)
        per_example = self.head.loss(query, features[self.target], training=training)
        return tf.nn.compute_average_loss(per_example)

    def scores(self, features):
        """Logits of every item for each query: [B, num_items] float32 (item 0 at -inf)."""
        return self.corpus_scores(self(features, training=False))

    @property
    def query_shape(self):
        """Shape of one query vector, what call returns per example: (d,) by default."""
        return (self.head.dim,)

    def corpus_scores(self, query):
        """Query vectors (what call returns) -> [B, num_items] float32 logits."""
        return self.head(query)

    def index_items(self):
        """[num_items, d'] float32 item vectors for a nearest-neighbour index: the dot product
        with index_queries(query) is corpus_scores(query). Default: a table head's
        embeddings with the item bias as one more column (the query gets a 1 there)."""
        return tf.concat([self.head.item_embeddings, self.head.item_biases[:, None]], axis=1)

    def index_queries(self, query):
        """Query vectors [..., d] -> index query vectors [..., d'] (TensorFlow ops only)."""
        query = tf.cast(query, tf.float32)
        return tf.concat([query, tf.ones_like(query[..., :1])], axis=-1)

    def serving_outputs(self, features, k=None):
        query = tf.cast(self(features, training=False), tf.float32)
        top = tf.math.top_k(self.corpus_scores(query), k=self.top_k if k is None else k)
        return {"query_vector": query, "item_ids": tf.cast(top.indices, tf.int64),
                "scores": top.values}
