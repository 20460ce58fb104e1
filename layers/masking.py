"""Masking helpers shared by the attention layers."""
import tensorflow as tf


def length_mask(lengths, max_len):
    """[B] lengths -> [B, max_len] bool mask of the valid (left-aligned) positions."""
    return tf.sequence_mask(lengths, max_len)


def masked_softmax(scores, mask):
    """Softmax over the last axis in float32, ignoring positions where `mask` is False.

    scores [..., L]; mask bool, broadcastable to scores. Masked scores are set to the
    dtype's own minimum (no -1e9 constants); a row with no valid position gets all-zero
    weights instead of a uniform spread over padding.
    """
    scores = tf.cast(scores, tf.float32)
    mask = tf.broadcast_to(mask, tf.shape(scores))
    weights = tf.nn.softmax(tf.where(mask, scores, scores.dtype.min), axis=-1)
    return tf.where(mask, weights, tf.zeros_like(weights))
