"""Masking helpers shared by the attention layers."""
import tensorflow as tf


def length_mask(lengths, max_len):
    """[B] lengths -> [B, max_len] bool mask of the valid (left-aligned) positions."""
    return tf.sequence_mask(lengths, max_len)


def masked_softmax(scores, mask):
    """Softmax over the last axis in float32, ignoring positions where `mask` is False.

    scores [..., L]; mask bool, broadcastable to scores, or None when every position is
    valid. Masked scores are set to the dtype's own minimum (no -1e9 constants); a row with
    no valid position gets all-zero weights instead of a uniform spread over padding.
    """
    scores = tf.cast(scores, tf.float32)
    if mask is None:
        # A plain softmax: what an all-true mask gives, without the two selects over scores
        # (about 10% of the op time of AutoInt's train step on CPU).
        return tf.nn.softmax(scores, axis=-1)
    mask = tf.broadcast_to(mask, tf.shape(scores))
    weights = tf.nn.softmax(tf.where(mask, scores, scores.dtype.min), axis=-1)
    return tf.where(mask, weights, tf.zeros_like(weights))
