"""Registered models; importing this package registers every one of them."""
from garden.models import autoint  # noqa: F401
from garden.models import deepfm  # noqa: F401
from garden.models import deepwalk  # noqa: F401
from garden.models import eges  # noqa: F401
from garden.models import esmm  # noqa: F401
from garden.models import fibinet  # noqa: F401
from garden.models import item2vec  # noqa: F401
from garden.models import mind  # noqa: F401
from garden.models import mmoe  # noqa: F401
from garden.models import node2vec  # noqa: F401
from garden.models import ple  # noqa: F401
from garden.models import sdm  # noqa: F401
from garden.models import two_tower  # noqa: F401
from garden.models import xdeepfm  # noqa: F401
from garden.models import youtube_dnn  # noqa: F401
