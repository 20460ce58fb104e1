"""Registered models; importing this package registers every one of them."""
from garden.models import deepfm  # noqa: F401
from garden.models import mind  # noqa: F401
from garden.models import sdm  # noqa: F401
from garden.models import two_tower  # noqa: F401
from garden.models import youtube_dnn  # noqa: F401
