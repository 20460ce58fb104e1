"""SideInfoAggregation: EGES's per-item weighted average of side-information embeddings."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class SideInfoAggregation(tf.keras.layers.Layer):
    """EGES (Wang et al., KDD 2018, "Billion-scale Commodity Embedding for E-commerce
    Recommendation in Alibaba"), eq. (6): H_v = sum_j exp(a_v^j) W_v^j / sum_j exp(a_v^j).

    Field 0 is the item id's own embedding, fields 1.. its side information (category, brand,
    shop ...). Each item v has its own learned weights a_v (a [num_items, num_fields] table,
    zeros at first: a plain mean). The paper softmaxes the weights as written above; some
    public implementations apply exp() without normalizing, the garden follows the paper.
    Cold-start items (`cold` True: never seen in training, so their id embedding and weights
    are untrained) get the plain mean of their side-information embeddings (fields 1..), as
    the paper proposes.

    Call(embeddings [..., num_fields, dim], item_ids [...] int, cold [...] bool or None)
    -> [..., dim] in the compute dtype. Works position by position: a padded position of a
    sequence only affects its own output, which the consumer masks.
    """

    def __init__(self, num_items, num_fields, **kwargs):
        super().__init__(**kwargs)
        if num_items < 1 or num_fields < 2:
            raise ValueError(f"need num_items >= 1 and num_fields >= 2 (the id and at least "
                             f"one side feature), got {num_items}, {num_fields}")
        self.num_items = int(num_items)
        self.num_fields = int(num_fields)

    def build(self, input_shape=None):
        self.field_logits = self.add_weight(
            name="field_logits", shape=(self.num_items, self.num_fields), dtype="float32",
            initializer="zeros", experimental_autocast=False)
        super().build(input_shape)

    def call(self, embeddings, item_ids, cold=None):
        embeddings = tf.cast(embeddings, self.compute_dtype)
        weights = tf.nn.softmax(tf.gather(self.field_logits, item_ids), axis=-1)  # float32
        weighted = tf.reduce_sum(tf.cast(weights, self.compute_dtype)[..., None] * embeddings,
                                 axis=-2)
        if cold is None:
            return weighted
        side_mean = tf.reduce_mean(embeddings[..., 1:, :], axis=-2)
        return tf.where(tf.cast(cold, tf.bool)[..., None], side_mean, weighted)

    def get_config(self):
        config = super().get_config()
        config.update(num_items=self.num_items, num_fields=self.num_fields)
        return config
