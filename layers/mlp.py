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

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for i, dense in enumerate(self.dense_layers):
            x = dense(x)
            if self.batch_norm:
                x = self.norm_layers[i](x, training=training)
            if self.dice_layers:
                x = self.dice_layers[i](x, mask=mask, training=training)
            else:
                x = self.activation_layer(x)
            if self.dropout:
                x = self.dropout_layer(x, training=training)
        return x

    def get_config(self):
        config = super().get_config()
        config.update(hidden_units=self.hidden_units, activation=self.activation,
                      dropout=self.dropout, batch_norm=self.batch_norm, l2=self.l2)
        return config
