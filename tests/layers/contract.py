"""The layer contract of DESIGN.md, as reusable checks for every layer's test."""
import garden  # noqa: F401  (Keras 2 before TensorFlow loads)
import numpy as np
import tensorflow as tf


def assert_config_round_trip(test, layer):
    """from_config(get_config()) rebuilds an equal layer, through the Keras registry too."""
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    test.assertEqual(clone.get_config(), config)
    for key in config:
        if key not in ("name", "trainable", "dtype", "batch_input_shape"):
            test.assertTrue(hasattr(layer, key), f"argument {key} is not a public attribute")
    registered = tf.keras.utils.get_registered_name(layer.__class__)
    test.assertEqual(registered, f"garden>{layer.__class__.__name__}")
    serialized = tf.keras.layers.serialize(layer)
    test.assertEqual(tf.keras.layers.deserialize(serialized).get_config(), config)


def run_mixed_bfloat16(test, make_layer, inputs, call=None, output_dtype=None):
    """Builds and runs the layer under mixed_bfloat16; outputs must be finite.

    Variables stay float32; `output_dtype` (default bfloat16) is checked on every output.
    """
    previous = tf.keras.mixed_precision.global_policy()
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layer = make_layer()
        outputs = call(layer, inputs) if call else layer(inputs)
        for v in layer.variables:
            test.assertEqual(v.dtype, tf.float32, v.name)
        for out in tf.nest.flatten(outputs):
            test.assertEqual(out.dtype, output_dtype or tf.bfloat16)
            test.assertTrue(np.all(np.isfinite(tf.cast(out, tf.float32).numpy())))
        return outputs
    finally:
        tf.keras.mixed_precision.set_global_policy(previous)


def fill_padding(values, mask, seed=0, high=None):
    """`values` with every masked-out position replaced by random numbers (or ids < high)."""
    rng = np.random.default_rng(seed)
    values = np.array(values)
    mask = np.asarray(mask, bool)
    shape = values.shape
    if high is not None:
        noise = rng.integers(1, high, size=shape)
    else:
        noise = rng.normal(0, 3, size=shape).astype(values.dtype)
    keep = mask.reshape(mask.shape + (1,) * (values.ndim - mask.ndim))
    return np.where(keep, values, noise)
