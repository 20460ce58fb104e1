"""garden package of the garden."""
import os

# TFRS refuses Keras 3, so the garden runs on Keras 2 (tf-keras). This must be set before
# TensorFlow resolves tf.keras, which it does lazily on first use.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# TensorFlow's C++ INFO lines (CUDA probing, CPU features) drown the garden's own output;
# warnings and errors still show. Set TF_CPP_MIN_LOG_LEVEL yourself to see everything.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
