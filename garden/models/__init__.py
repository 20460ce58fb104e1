"""Registered models; importing this package registers every one of them."""
from garden.models import autoint  # noqa: F401
from garden.models import deepfm  # noqa: F401
from garden.models import fibinet  # noqa: F401
from garden.models import sdm  # noqa: F401
from garden.models import xdeepfm  # noqa: F401
