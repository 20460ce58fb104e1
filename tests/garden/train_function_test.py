"""GardenModel's train function: one trace per fit, the same updates as Keras's own loop."""
import numpy as np
import pytest
import tensorflow as tf

from garden.tasks.base import GardenModel


class TinyRegression(GardenModel):
    task = "ranking"

    def __init__(self):
        super().__init__(["x"])
        self.dense = tf.keras.layers.Dense(1)
        self.traces = 0

    def call(self, features, training=False):
        return self.dense(features["x"])

    def task_loss(self, batch, training):
        features, labels = batch
        self.traces += bool(training)  # Python side effect: runs once per trace
        return tf.reduce_mean(tf.square(self(features)[:, 0] - labels["y"]))


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32) + 0.3).astype(np.float32)
    return tf.data.Dataset.from_tensor_slices(({"x": x}, {"y": y})).batch(8).repeat()


def trained(use_keras_loop, steps_per_execution, jit_compile=False):
    tf.keras.utils.set_random_seed(3)
    model = TinyRegression()
    if use_keras_loop:
        model.make_train_function = lambda force=False: tf.keras.Model.make_train_function(
            model, force)
    model.compile(tf.keras.optimizers.Adam(0.05), steps_per_execution=steps_per_execution,
                  jit_compile=jit_compile)
    model.build_for_training(next(iter(data())))  # no variables created while tracing
    history = model.fit(data(), epochs=2, steps_per_epoch=12, verbose=0)
    return model, history.history["loss"]


@pytest.mark.parametrize("jit_compile", [False, True])
def test_several_steps_per_call_trace_once_and_match_keras(jit_compile):
    model, losses = trained(False, 4, jit_compile)
    keras_model, keras_losses = trained(True, 4, jit_compile)
    assert model.traces == 1 and keras_model.traces > 1  # Keras traces the step twice
    np.testing.assert_allclose(losses, keras_losses, rtol=1e-6)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert int(model._train_counter.numpy()) == 24 == int(keras_model._train_counter.numpy())
    assert losses[1] < losses[0] / 2  # it learns


def test_one_step_per_call_is_keras_own():
    model, losses = trained(False, 1)
    _, keras_losses = trained(True, 1)
    np.testing.assert_allclose(losses, keras_losses, rtol=1e-6)
