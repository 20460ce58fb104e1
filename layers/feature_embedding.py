"""FeatureEmbedding: id features -> embeddings, through tables that features may share."""
import tensorflow as tf

from layers.table_lookup import table_source


@tf.keras.utils.register_keras_serializable(package="garden")
class FeatureEmbedding(tf.keras.layers.Layer):
    """Looks up id features in embedding tables, one gather per table.

    Features that share a table (a behaviour sequence of item ids and the target `item_id`)
    are concatenated and looked up together, so each table costs one gather per step.

    Args:
      tables: {table_name: [vocab_size, dim]}; row 0 is the padding/OOV row.
      features: {feature_name: table_name}.
      embeddings_initializer: Keras initializer for every table.
      l2: L2 penalty on the rows looked up in a batch (per example), added with add_loss.

    Call: a dict of int ids, [B] or [B, L] per feature (extra keys are ignored) -> a dict of
    embeddings [B, dim] or [B, L, dim] in the layer's compute dtype. Tables stay float32 under
    mixed precision. No masking here: padded positions get row 0; consumers mask by length.
    """

    # Set by GardenModel.compile when the optimizer updates tables densely: gather from the
    # tables' values, not the variables (see layers/table_lookup.table_source).
    dense_table_reads = False

    def __init__(self, tables, features, embeddings_initializer="uniform", l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.tables = {name: [int(v) for v in shape] for name, shape in tables.items()}
        self.features = dict(features)
        unknown = sorted(set(self.features.values()) - set(self.tables))
        if unknown:
            raise ValueError(f"features refer to tables {unknown} that are not defined")
        for name, (vocab, dim) in self.tables.items():
            if vocab < 1 or dim < 1:
                raise ValueError(f"table {name!r}: vocab_size and dim must be >= 1, got "
                                 f"{vocab}, {dim}")
        self.embeddings_initializer = tf.keras.initializers.get(embeddings_initializer)
        self.l2 = float(l2)

    def build(self, input_shape):
        self.embeddings = {}
        for name in sorted(set(self.features.values())):
            vocab, dim = self.tables[name]
            # A fresh initializer per table: one unseeded instance repeats its values.
            initializer = self.embeddings_initializer.__class__.from_config(
                self.embeddings_initializer.get_config())
            self.embeddings[name] = self.add_weight(
                name=f"{name}_embeddings", shape=(vocab, dim), initializer=initializer,
                dtype="float32", experimental_autocast=False)  # gather rows, then cast
        super().build(input_shape)

    def call(self, inputs):
        by_table = {}
        for feature, table in self.features.items():
            if feature in inputs:
                by_table.setdefault(table, []).append(feature)
        outputs = {}
        for table, names in by_table.items():
            ids = [tf.cast(inputs[n], tf.int64) for n in names]
            flat = tf.concat([tf.reshape(i, [-1]) for i in ids], axis=0)
            rows = tf.gather(table_source(self.embeddings[table], self.dense_table_reads),
                             flat)
            if self.l2:
                batch = tf.cast(tf.shape(ids[0])[0], rows.dtype)
                self.add_loss(self.l2 * tf.reduce_sum(tf.square(rows)) / batch)
            sizes = [tf.size(i) for i in ids]
            dim = self.tables[table][1]
            for name, i, part in zip(names, ids, tf.split(rows, sizes, axis=0)):
                shape = tf.concat([tf.shape(i), [dim]], axis=0)
                outputs[name] = tf.cast(tf.reshape(part, shape), self.compute_dtype)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(tables=self.tables, features=self.features, l2=self.l2,
                      embeddings_initializer=tf.keras.initializers.serialize(
                          self.embeddings_initializer))
        return config
