"""Registered models; importing this package registers every one of them."""
from garden.models import dcn  # noqa: F401
from garden.models import dcn_v2  # noqa: F401
from garden.models import deepfm  # noqa: F401
from garden.models import ffm  # noqa: F401
from garden.models import fm  # noqa: F401
from garden.models import lr  # noqa: F401
from garden.models import pnn  # noqa: F401
from garden.models import sdm  # noqa: F401
from garden.models import wdl  # noqa: F401
