"""MLP: a stack of dense hidden layers."""
import tensorflow as tf

from layers.dice import Dice


@tf.keras.utils.register_keras_serializable(package="garden")
class MLP(tf.keras.layers.Layer):
    """Dense -> [batch norm] -> activation -> [dropout], once per entry of hidden_units.

    Input [..., d_in] -> output [..., hidden_units[-1]] (the input itself if hidden_units is
    empty). Add the output layer (for example a float32 Dense(1)) outside.
    activation="dice" gives each hidden layer its own Dice (layers/dice.py); call(..., mask)
    then keeps padded positions out of its batch moments.

    The input may also be a list of tensors [..., d_1], ..., [..., d_n] that stand for their
    concatenation [..., d_1 + ... + d_n]: the first layer then multiplies each part by its
    rows of the (one, unchanged) kernel and sums. Same values and weights as concatenating
    first, without writing the concatenation forward and slicing its gradient backward
    (FiBiNET's 10,413-wide input). hidden_units must not be empty then.
    """

    def __init__(self, hidden_units, activation="relu", dropout=0.0, batch_norm=False,
                 l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = [int(u) for u in hidden_units]
        self.activation = activation
        self.dropout = float(dropout)
        self.batch_norm = bool(batch_norm)
        self.l2 = float(l2)
        regularizer = tf.keras.regularizers.l2(self.l2) if self.l2 else None
        self.dense_layers = [tf.keras.layers.Dense(u, kernel_regularizer=regularizer,
                                                   dtype=self.dtype_policy)
                             for u in self.hidden_units]
        self.norm_layers = [tf.keras.layers.BatchNormalization(dtype=self.dtype_policy)
                            for _ in self.hidden_units] if self.batch_norm else []
        self.activation_layer = tf.keras.layers.Activation(
            "linear" if activation == "dice" else activation, dtype=self.dtype_policy)
        self.dice_layers = [Dice(dtype=self.dtype_policy) for _ in self.hidden_units] \
            if activation == "dice" else []
        self.dropout_layer = tf.keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        # A list of shapes: the first Dense is built here for the concatenated width, since
        # call() multiplies by its kernel without calling it.
        self._part_sizes = None
        if isinstance(input_shape, (list, tuple)) and input_shape and not isinstance(
                input_shape[0], (int, type(None))):
            if not self.dense_layers:
                raise ValueError("MLP with no hidden_units takes one tensor, not a list")
            self._part_sizes = [int(tf.TensorShape(s)[-1]) for s in input_shape]
            first = tf.TensorShape(input_shape[0])[:-1].concatenate([sum(self._part_sizes)])
            with tf.name_scope(self.dense_layers[0].name):
                self.dense_layers[0].build(first)
        super().build(input_shape)

    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, (list, tuple)) != bool(self._part_sizes):
            raise ValueError("MLP: call it with a list of tensors exactly when it was built "
                             "with one (first call)")
        x = inputs
        for i, dense in enumerate(self.dense_layers):
            x = self._first_layer(x) if i == 0 and self._part_sizes else dense(x)
            if self.batch_norm:
                x = self.norm_layers[i](x, training=training)
            if self.dice_layers:
                x = self.dice_layers[i](x, mask=mask, training=training)
            else:
                x = self.activation_layer(x)
            if self.dropout:
                x = self.dropout_layer(x, training=training)
        return x

    def _first_layer(self, parts):
        """dense_layers[0] over the concatenation of `parts`, as a sum of per-part products."""
        dense = self.dense_layers[0]
        if len(parts) != len(self._part_sizes):
            raise ValueError(f"MLP was built for {len(self._part_sizes)} input parts, got "
                             f"{len(parts)}")
        kernels = tf.split(tf.cast(dense.kernel, self.compute_dtype), self._part_sizes, axis=0)
        x = tf.add_n([tf.tensordot(tf.cast(part, self.compute_dtype), kernel, 1)
                      for part, kernel in zip(parts, kernels)])
        return tf.nn.bias_add(x, tf.cast(dense.bias, self.compute_dtype))

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=self.hidden_units, activation=self.activation,
                      dropout=self.dropout, batch_norm=self.batch_norm, l2=self.l2)
        return config
