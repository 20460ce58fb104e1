"""Reusable Keras layers of the garden, one per module; each registers as 'garden>Name'."""
import os

# TFRS refuses Keras 3, so the garden runs on Keras 2 (tf-keras). This must be set before
# TensorFlow resolves tf.keras, which it does lazily on first use.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from layers.augru import AUGRU, AUGRUCell  # noqa: E402
from layers.bias_encoding import BiasEncoding  # noqa: E402
from layers.dice import Dice  # noqa: E402
from layers.feature_embedding import FeatureEmbedding  # noqa: E402
from layers.fm import FactorizationMachine  # noqa: E402
from layers.gated_fusion import GatedFusion  # noqa: E402
from layers.linear import Linear  # noqa: E402
from layers.local_activation_unit import LocalActivationUnit  # noqa: E402
from layers.mlp import MLP  # noqa: E402
from layers.multi_head_attention import MultiHeadAttention  # noqa: E402
from layers.query_attention import QueryAttention  # noqa: E402
from layers.sampled_softmax import SampledSoftmax  # noqa: E402
from layers.sequence_pooling import SequencePooling  # noqa: E402
from layers.session_split import SessionSplit  # noqa: E402
from layers.transformer_block import TransformerBlock  # noqa: E402
