"""Shared helpers of the fault-injection suite."""
import json
import os
import shutil

import pytest


def tally(kind, count=1):
    """Adds to the suite's totals (printed at the end of the run, quoted in the README)."""
    path = os.path.join(os.environ["GARDEN_FAULT_TALLY"], f"{os.getpid()}.jsonl")
    with open(path, "a") as f:
        f.write(json.dumps([kind, count]) + "\n")


@pytest.fixture
def ranking_copy(tiny_world, tmp_path):
    """A private copy of the tiny world's ranking data, free to damage."""
    path = str(tmp_path / "ranking")
    shutil.copytree(os.path.join(tiny_world, "ranking"), path)
    return path
