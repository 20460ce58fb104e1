"""Reusable Keras layers of the garden, one per module; each registers as 'garden>Name'."""
import os

# TFRS refuses Keras 3, so the garden runs on Keras 2 (tf-keras). This must be set before
# TensorFlow resolves tf.keras, which it does lazily on first use.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

from layers.augru import AUGRU, AUGRUCell  # noqa: E402
from layers.bias_encoding import BiasEncoding  # noqa: E402
from layers.bilinear_interaction import BilinearInteraction  # noqa: E402
from layers.capsule_routing import CapsuleRouting  # noqa: E402
from layers.cgc import CGC  # noqa: E402
from layers.cin import CIN  # noqa: E402
from layers.cross import CrossNetwork  # noqa: E402
from layers.cross_mix import CrossMix  # noqa: E402
from layers.dice import Dice  # noqa: E402
from layers.feature_embedding import FeatureEmbedding  # noqa: E402
from layers.ffm import FieldAwareFM  # noqa: E402
from layers.fm import FactorizationMachine  # noqa: E402
from layers.frequency_estimator import FrequencyEstimator  # noqa: E402
from layers.full_softmax import FullSoftmax  # noqa: E402
from layers.gated_fusion import GatedFusion  # noqa: E402
from layers.in_batch_softmax import InBatchSoftmax  # noqa: E402
from layers.inner_product import InnerProduct  # noqa: E402
from layers.interacting_layer import InteractingLayer  # noqa: E402
from layers.linear import Linear  # noqa: E402
from layers.local_activation_unit import LocalActivationUnit  # noqa: E402
from layers.mlp import MLP  # noqa: E402
from layers.mmoe import MMoE  # noqa: E402
from layers.multi_head_attention import MultiHeadAttention  # noqa: E402
from layers.nce import NCE  # noqa: E402
from layers.negative_sampling import NegativeSampling  # noqa: E402
from layers.outer_product import OuterProduct  # noqa: E402
from layers.ple import PLE  # noqa: E402
from layers.query_attention import QueryAttention  # noqa: E402
from layers.sampled_softmax import SampledSoftmax  # noqa: E402
from layers.senet import SENet  # noqa: E402
from layers.sequence_pooling import SequencePooling  # noqa: E402
from layers.session_split import SessionSplit  # noqa: E402
from layers.side_info_aggregation import SideInfoAggregation  # noqa: E402
from layers.transformer_block import TransformerBlock  # noqa: E402
from layers.unrolled_lstm import UnrolledLSTM  # noqa: E402
