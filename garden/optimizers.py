"""Optimizers, by the names train.optimizer accepts."""
import tensorflow as tf


class FusedAdam(tf.keras.optimizers.Adam):
    """Keras Adam, each update done by TensorFlow's fused ApplyAdam kernel.

    The same update as tf.keras.optimizers.Adam, including on embedding tables: for a sparse
    (IndexedSlices) gradient Keras Adam still decays both moments of every row and moves every
    row, i.e. it is dense Adam with zero gradient rows; so is this. Keras does that in about
    ten separate passes over each table (decay, scatter, sqrt, divide, ...); the fused kernel
    reads and writes m, v and the variable once, which makes wide-table models several times
    faster to train. AMSGrad is not supported.

    Keras first merges the duplicate rows of each IndexedSlices gradient (a tf.unique and a
    segment sum over every looked-up row); the dense conversion in update_step sums duplicates
    anyway, so FusedAdam skips that merge: one segment sum over the looked-up rows instead of a
    unique, a segment sum and a second one over the merged rows; the same sums up to float
    rounding (order of addition).
    """

    updates_tables_densely = True  # GardenModel.compile: lookups then read tables densely

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.amsgrad:
            raise ValueError("FusedAdam does not implement amsgrad")

    def _deduplicate_sparse_grad(self, grads):
        return grads  # update_step's dense conversion adds up duplicate rows

    def update_step(self, gradient, variable):
        if isinstance(gradient, tf.IndexedSlices):
            gradient = tf.convert_to_tensor(gradient)  # zero rows, exactly as Keras Adam
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._index_dict[self._var_key(variable)]
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle,
            v=self._velocities[index].handle, beta1_power=tf.pow(beta_1, step),
            beta2_power=tf.pow(beta_2, step), lr=tf.cast(self.learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=gradient)


OPTIMIZERS = {
    "adam": FusedAdam,
    "keras_adam": tf.keras.optimizers.Adam,
    "adagrad": tf.keras.optimizers.Adagrad,
    "sgd": tf.keras.optimizers.SGD,
    "rmsprop": tf.keras.optimizers.RMSprop,
}


def make(name, learning_rate):
    if name not in OPTIMIZERS:
        raise ValueError(f"train.optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](learning_rate=learning_rate)
