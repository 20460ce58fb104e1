"""AUGRU: DIEN's GRU with attentional update gate, as a cell and as a sequence layer."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class AUGRUCell(tf.keras.layers.Layer):
    """One step of the AUGRU of Zhou et al., "Deep Interest Evolution Network", AAAI 2019,
    eqs. (1)-(4) and (9)-(10):

      u = sigmoid(W_u i + U_u h + b_u),  r = sigmoid(W_r i + U_r h + b_r)
      h~ = tanh(W_h i + r * (U_h h) + b_h)
      u' = a * u,  h_new = (1 - u') * h + u' * h~

    The attention score a in [0, 1] of the step scales the update gate, so behaviours that are
    irrelevant to the target barely move the interest state. Note the paper's convention
    (u weighs the new candidate), the reverse of Keras' GRU.

    The cell's input is [..., d + 1]: the step's features with its attention score appended
    as the last column (AUGRU builds this). state_size = units.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.units = int(units)
        self.state_size = self.units
        self.output_size = self.units

    def build(self, input_shape):
        dim = int(input_shape[-1]) - 1
        self.kernel = self.add_weight(name="kernel", shape=(dim, 3 * self.units),
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel",
                                                shape=(self.units, 3 * self.units),
                                                initializer="orthogonal")
        self.bias = self.add_weight(name="bias", shape=(3 * self.units,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs, states):
        h = states[0] if isinstance(states, (list, tuple)) else states
        x, attention = inputs[:, :-1], inputs[:, -1:]
        x_u, x_r, x_h = tf.split(tf.matmul(x, self.kernel) + self.bias, 3, axis=-1)
        h_u, h_r, h_h = tf.split(tf.matmul(h, self.recurrent_kernel), 3, axis=-1)
        update = tf.sigmoid(x_u + h_u)
        reset = tf.sigmoid(x_r + h_r)
        candidate = tf.tanh(x_h + reset * h_h)
        update = attention * update
        new = (1.0 - update) * h + update * candidate
        return new, [new]

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config


@tf.keras.utils.register_keras_serializable(package="garden")
class AUGRU(tf.keras.layers.Layer):
    """Runs an AUGRUCell over a padded sequence (DIEN's interest evolving layer).

    Args: units; return_sequences: every step's state instead of the final one.
    Call(inputs [B, L, d], attention [B, L] scores in [0, 1], mask [B, L] bool)
    -> final state [B, units] (the state after the last valid step), or [B, L, units].
    Masked steps leave the state unchanged (padding anywhere never changes the output; padded
    steps of return_sequences output zeros); a fully padded row gives the zero initial state.
    """

    def __init__(self, units, return_sequences=False, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.return_sequences = bool(return_sequences)
        self.cell = AUGRUCell(self.units, dtype=self.dtype_policy, name="cell")
        self.rnn = tf.keras.layers.RNN(self.cell, return_sequences=self.return_sequences,
                                       dtype=self.dtype_policy, name="rnn")

    def call(self, inputs, attention, mask):
        attention = tf.cast(attention, inputs.dtype)[..., None]
        mask = tf.cast(mask, tf.bool)
        out = self.rnn(tf.concat([inputs, attention], axis=-1), mask=mask)
        if self.return_sequences:
            out = out * tf.cast(mask, out.dtype)[..., None]
        return out

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, return_sequences=self.return_sequences)
        return config
