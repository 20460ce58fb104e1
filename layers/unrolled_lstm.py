"""UnrolledLSTM: tf.keras.layers.LSTM's math over a short fixed-length sequence, faster on CPU."""
import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="garden")
class UnrolledLSTM(tf.keras.layers.Layer):
    """A one-layer LSTM (Hochreiter & Schmidhuber, 1997) returning every step's output, with
    the parameters and the math of tf.keras.layers.LSTM(units, return_sequences=True):

        z_t = x_t @ kernel + bias + h_{t-1} @ recurrent_kernel,  split into i, f, g, o
        c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g),  h_t = sigmoid(o) * tanh(c_t)

    starting from zero states. The weights live in `self.cell`, a Keras LSTMCell, so they
    have its layout (kernel [d_in, 4u], recurrent_kernel [u, 4u], bias [4u], gates in the
    order i, f, g, o, forget-gate bias initialised to 1) and its checkpoint path
    (`<layer>/cell/kernel`, as a Keras LSTM's): a Keras LSTM's checkpoint loads into it.

    Why it is faster than the Keras layer on CPU (same values up to float rounding): the input
    projection of all steps is one matmul outside the recurrence (Keras multiplies x_t by
    the kernel inside each step), and the recurrence is unrolled in the graph over the
    static sequence length, with steps taken by tf.unstack (slicing one step at a time costs
    a full-size zero tensor per step in the gradient). A caller that can compute the input
    projection more cheaply (SDM: on the embedding tables' side) calls `input_gates`'s
    equivalent itself and then `recurrence`.

    Call(inputs [B, L, d_in], mask [B, L] bool or None) -> [B, L, units]; L must be static.
    Masking as Keras does it: a masked step keeps the previous state and outputs the previous
    output (zeros before the first valid step), so padded steps never change the state the
    valid ones see; a fully padded row outputs zeros. Without a mask every step runs.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if units < 1:
            raise ValueError(f"units must be >= 1, got {units}")
        self.units = int(units)
        self.cell = tf.keras.layers.LSTMCell(self.units, dtype=self.dtype_policy, name="cell")

    def build(self, input_shape):
        if input_shape[1] is None:
            raise ValueError("UnrolledLSTM needs a static sequence length, got shape "
                             f"{input_shape}")
        self.cell.build(tf.TensorShape([None, input_shape[-1]]))
        super().build(input_shape)

    def input_gates(self, inputs):
        """inputs [B, L, d_in] -> inputs @ kernel + bias [B, L, 4u], all steps at once."""
        kernel = self.cell.kernel  # a 2-D matmul: a [B, L, d_in] x [d_in, 4u] one is slower
        gates = tf.matmul(tf.reshape(inputs, [-1, kernel.shape[0]]), kernel) + self.cell.bias
        return tf.reshape(gates, [-1, inputs.shape[1], kernel.shape[1]])

    def recurrence(self, gates, mask=None):
        """The LSTM over precomputed input gates [B, L, 4u] (x_t @ kernel + bias for each
        step) -> outputs [B, L, u]; mask [B, L] bool or None as in call."""
        steps = tf.unstack(gates, axis=1)
        valid = [None] * len(steps) if mask is None else tf.unstack(mask[..., None], axis=1)
        recurrent_kernel = self.cell.recurrent_kernel
        h = c = None
        outputs = []
        for z, keep in zip(steps, valid):
            if h is not None:
                z = z + tf.matmul(h, recurrent_kernel)
            i, f, g, o = tf.split(z, 4, axis=-1)
            new_c = tf.sigmoid(i) * tf.tanh(g)
            if c is not None:
                new_c = tf.sigmoid(f) * c + new_c
            new_h = tf.sigmoid(o) * tf.tanh(new_c)
            if keep is not None:  # masked step: keep the previous state (zeros at first)
                new_c = tf.where(keep, new_c, 0.0 if c is None else c)
                new_h = tf.where(keep, new_h, 0.0 if h is None else h)
            h, c = new_h, new_c
            outputs.append(h)
        return tf.stack(outputs, axis=1)

    def call(self, inputs, mask=None):
        return self.recurrence(self.input_gates(inputs), mask)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units)
        return config
