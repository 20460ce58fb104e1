"""FullSoftmax: an exact softmax head over a small item vocabulary."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class FullSoftmax(tf.keras.layers.Layer):
    """logit_i = <q, w_i> + b_i over every item, trained with the exact softmax
    cross-entropy (no sampling: the cost per step grows with the corpus, fine for corpora of
    a few thousand items, and the reference the sampled heads approximate).

    Item 0 is padding/OOV: it scores the dtype's minimum, so it is never predicted.
    Args: num_items (vocabulary size including row 0), dim (query and item vector size).
    Call(query [B, dim]) -> logits [B, num_items] float32.
    loss(query [B, dim], targets [B] int, training) -> per-example loss [B] float32.
    """

    # Set by GardenModel.compile when the optimizer updates tables densely: the sampled
    # heads gather from the table's value (see layers/table_lookup.table_source).
    dense_table_reads = False

    def __init__(self, num_items, dim, **kwargs):
        super().__init__(**kwargs)
        if num_items < 2 or dim < 1:
            raise ValueError(f"need num_items >= 2 and dim >= 1, got num_items={num_items}, "
                             f"dim={dim}")
        self.num_items = int(num_items)
        self.dim = int(dim)

    def build(self, input_shape):
        self.item_embeddings = self.add_weight(
            name="item_embeddings", shape=(self.num_items, self.dim), dtype="float32",
            initializer=tf.keras.initializers.TruncatedNormal(stddev=self.dim ** -0.5),
            experimental_autocast=False)  # logits over the corpus are computed in float32
        self.item_biases = self.add_weight(name="item_biases", shape=(self.num_items,),
                                           dtype="float32", initializer="zeros",
                                           experimental_autocast=False)
        super().build(input_shape)

    def call(self, query):
        logits = tf.matmul(tf.cast(query, tf.float32), self.item_embeddings, transpose_b=True)
        logits = logits + self.item_biases
        return tf.where(tf.range(self.num_items) > 0, logits, logits.dtype.min)

    def loss(self, query, targets, training=False):
        del training  # the same exact loss in training and evaluation
        if not self.built:
            self.build(query.shape)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(targets, tf.int64),
                                                              self(query))

    def get_config(self):
        config = super().get_config()
        config.update(num_items=self.num_items, dim=self.dim)
        return config
