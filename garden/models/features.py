"""Choosing and embedding the schema's features for a model."""
import tensorflow as tf

from layers.feature_embedding import FeatureEmbedding
from layers.masking import length_mask


def pick(schema, names, kinds, group=None):
    """`names` checked against the schema, or (empty) every feature of `kinds` [in `group`]."""
    if names:
        for name in names:
            if schema[name].kind not in kinds:
                raise ValueError(f"feature {name!r} is {schema[name].kind}; this model takes "
                                 f"{' or '.join(kinds)} features here")
        return list(names)
    return [s.name for s in schema if s.kind in kinds and group in (None, s.group)]


def pooled_sequences(schema):
    """The behaviour sequences a `use_sequences` model mean-pools into fields: those that share
    an id table with another feature (hist_item_id -> item_id). Sequences of their own ids,
    such as the synthetic data's hist_session_id (session ranks), are left to the models that
    read them."""
    return [s.name for s in schema if s.kind == "sequence" and s.shared_with]


def fields(schema, names):
    """(id features, dense features) among `names`, or every sparse and dense input if empty."""
    names = pick(schema, names, ("sparse", "dense"))
    return ([n for n in names if schema[n].kind == "sparse"],
            [n for n in names if schema[n].kind == "dense"])


def embedding(schema, names, dim, l2=0.0, name="embedding", initializer="uniform"):
    """A FeatureEmbedding over the tables of `names`, every table `dim` wide (dim 0: the
    schema's embedding_dim per table), initialized by `initializer` (a Keras initializer)."""
    tables = {}
    for n in names:
        table = schema[n].table
        tables[table] = [schema.vocab_size(n), dim or schema.embedding_dim(n)]
    return FeatureEmbedding(tables, {n: schema[n].table for n in names}, l2=l2, name=name,
                            embeddings_initializer=initializer)


def dense_input(features, names):
    """The dense features concatenated into [B, n], or None when there are none."""
    if not names:
        return None
    return tf.concat([tf.cast(features[n], tf.float32) for n in names], axis=1)


def sequence_mask(features, name):
    values = features[name]
    return length_mask(features[f"{name}_len"], tf.shape(values)[1])


def concat_fields(features, embedded, ids, sequences, dense, pooling):
    """A shared-bottom input [B, n]: the id embeddings, each sequence pooled by `pooling`
    (a SequencePooling) over its valid positions, and the dense values, concatenated."""
    parts = [embedded[f] for f in ids]
    parts += [pooling(embedded[s], sequence_mask(features, s)) for s in sequences]
    values = dense_input(features, dense)
    if values is not None:
        parts.append(tf.cast(values, parts[0].dtype))
    return tf.concat(parts, axis=1)


def recent_events(features, names, n, newest_first=False):
    """The last `n` events of aligned sequences `names` (left-aligned, oldest first, lengths in
    `<names[0]>_len`): ({name: [B, n] ids}, mask [B, n] bool). Oldest first and left-aligned
    unless newest_first, which puts the most recent event at position 0. Padding is 0."""
    lengths = tf.cast(features[f"{names[0]}_len"], tf.int32)
    max_len = tf.shape(features[names[0]])[1]
    take = tf.minimum(lengths, n)
    steps = tf.range(n)[None, :]
    mask = steps < take[:, None]
    if newest_first:
        index = lengths[:, None] - 1 - steps
    else:
        index = (lengths - take)[:, None] + steps
    index = tf.clip_by_value(tf.where(mask, index, 0), 0, max_len - 1)
    out = {}
    for name in names:
        values = tf.gather(features[name], index, batch_dims=1)
        out[name] = tf.where(mask, values, tf.zeros_like(values))
    return out, mask
