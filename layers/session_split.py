"""SessionSplit: a padded behaviour sequence cut into its most recent sessions."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class SessionSplit(tf.keras.layers.Layer):
    """DSIN's session division layer (Feng et al., IJCAI 2019, section 4.1), by session ids.

    Session ids count back from the present (1 = the most recent session, 2 = the one before,
    0 = padding), as `hist_session_id` of the synthetic ranking data; along the sequence (oldest
    first) they never grow. Session k of the output (k = 0 the most recent) holds the last
    `session_len` events of session id k + 1, oldest first and left-aligned; sessions older
    than `max_sessions` are dropped. No weights.

    Args: max_sessions K, session_len T.
    Call(values [B, L, ...], session_ids [B, L] int, mask [B, L] bool)
    -> (sessions [B, K, T, ...] with zeros at padding, mask [B, K, T] bool).
    Padded positions of the input never reach the output; a fully padded row gives an
    all-False mask and zeros.
    """

    def __init__(self, max_sessions, session_len, **kwargs):
        super().__init__(**kwargs)
        if max_sessions < 1 or session_len < 1:
            raise ValueError(f"max_sessions and session_len must be >= 1, got "
                             f"{max_sessions}, {session_len}")
        self.max_sessions = int(max_sessions)
        self.session_len = int(session_len)

    def call(self, values, session_ids, mask):
        k, t = self.max_sessions, self.session_len
        ids = tf.cast(session_ids, tf.int32)
        valid = tf.cast(mask, tf.bool) & (ids > 0)
        session_numbers = tf.range(1, k + 1)[None, None, :]  # [1, 1, K]
        in_session = valid[..., None] & (ids[..., None] == session_numbers)  # [B, L, K]
        older = valid[..., None] & (ids[..., None] > session_numbers)
        count = tf.reduce_sum(tf.cast(in_session, tf.int32), axis=1)  # [B, K]
        start = tf.reduce_sum(tf.cast(older, tf.int32), axis=1)  # first event of each session
        take = tf.minimum(count, t)
        steps = tf.range(t)[None, None, :]
        index = (start + count - take)[..., None] + steps  # [B, K, T]
        out_mask = steps < take[..., None]
        length = tf.shape(values)[1]
        index = tf.clip_by_value(tf.where(out_mask, index, 0), 0, tf.maximum(length - 1, 0))
        batch = tf.shape(values)[0]
        gathered = tf.gather(values, tf.reshape(index, [batch, k * t]), batch_dims=1)
        trailing = tf.shape(values)[2:]
        sessions = tf.reshape(gathered, tf.concat([[batch, k, t], trailing], axis=0))
        sessions.set_shape([None, k, t] + values.shape[2:])
        keep = tf.reshape(out_mask, tf.concat(
            [[batch, k, t], tf.ones_like(trailing)], axis=0))
        return tf.where(keep, sessions, tf.zeros_like(sessions)), out_mask

    def get_config(self):
        config = super().get_config()
        config.update(max_sessions=self.max_sessions, session_len=self.session_len)
        return config
