"""Registered models; importing this package registers every one of them."""
from garden.models import bst  # noqa: F401
from garden.models import deepfm  # noqa: F401
from garden.models import dien  # noqa: F401
from garden.models import din  # noqa: F401
from garden.models import dsin  # noqa: F401
from garden.models import sdm  # noqa: F401
