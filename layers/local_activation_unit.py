"""LocalActivationUnit: DIN's target attention over a behaviour sequence."""
import tensorflow as tf

from layers.masking import masked_softmax
from layers.mlp import MLP


@tf.keras.utils.register_keras_serializable(package="garden")
class LocalActivationUnit(tf.keras.layers.Layer):
    """v_U = sum_j w_j e_j,  w_j = MLP([e_j, v_a, e_j - v_a, e_j * v_a]) -> Dense(1).

    Zhou et al., "Deep Interest Network for Click-Through Rate Prediction", KDD 2018, eq. (3)
    and Fig. 2: each behaviour e_j is weighed by its relevance to the candidate ad v_a. As in
    the paper the weights are not normalized (softmax=False), so the pooled vector's size keeps
    how strongly the history supports the candidate; softmax=True normalizes them over valid
    positions (the form DIEN's code uses). Fig. 2 feeds the MLP the out product of e_j and
    v_a; the authors' released code and DeepCTR feed the difference and the element-wise
    product instead, and the garden follows the code.

    Args:
      hidden_units: the attention MLP, e.g. [80, 40].
      activation: "dice" (layers/dice.py, the paper's choice) or any Keras activation name.
      softmax: normalize the weights over valid positions.
    Call(query [B, d], keys [B, L, d], mask [B, L] bool, values [B, L, d_v] = keys, training)
    -> [B, d_v]. `scores(query, keys, mask, training)` -> the weights [B, L] in float32.
    Padded positions get weight zero and stay out of Dice's batch moments; a fully padded row
    outputs zeros.
    """

    def __init__(self, hidden_units=(80, 40), activation="dice", softmax=False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = [int(u) for u in hidden_units]
        self.activation = activation
        self.softmax = bool(softmax)
        self.mlp = MLP(self.hidden_units, activation=activation, dtype=self.dtype_policy)
        self.score_dense = tf.keras.layers.Dense(1, dtype=self.dtype_policy, name="score")

    def scores(self, query, keys, mask, training=None):
        q = tf.broadcast_to(tf.cast(query, keys.dtype)[:, None, :], tf.shape(keys))
        x = tf.concat([keys, q, keys - q, keys * q], axis=-1)
        mask = tf.cast(mask, tf.bool)
        logits = tf.squeeze(tf.cast(self.score_dense(
            self.mlp(x, training=training, mask=mask)), tf.float32), axis=-1)
        if self.softmax:
            return masked_softmax(logits, mask)
        return tf.where(mask, logits, tf.zeros_like(logits))

    def call(self, query, keys, mask, values=None, training=None):
        values = keys if values is None else values
        weights = self.scores(query, keys, mask, training=training)
        return tf.einsum("bl,bld->bd", tf.cast(weights, values.dtype), values)

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=self.hidden_units, activation=self.activation,
                      softmax=self.softmax)
        return config
