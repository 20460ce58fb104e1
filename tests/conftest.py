"""Shared fixtures: a small synthetic world written once per test session."""
import os
import shutil
import tempfile

import pytest

import garden  # noqa: F401  (Keras 2 before TensorFlow loads)

# Scratch folders this session made (xdist workers inherit them through the environment and
# make none); the controller removes them at the end.
_SCRATCH = []


def _scratch_folder(variable, prefix):
    if variable not in os.environ:
        os.environ[variable] = tempfile.mkdtemp(prefix=prefix)
        _SCRATCH.append(os.environ[variable])


# Tests never touch the user's cache.
_scratch_folder("GARDEN_CACHE", "garden-test-cache-")
# The processes tests start (xdist workers, training jobs, some killed on purpose) make their
# temporary folders in one scratch folder, removed with the others at the end.
_scratch_folder("TMPDIR", "garden-test-tmp-")


def pytest_collection_modifyitems(config, items):
    # tf.test.TestCase carries a legacy `test_session` helper that pytest would collect and
    # report as skipped; it is not a test.
    items[:] = [item for item in items if item.name != "test_session"]


@pytest.fixture(scope="session")
def small_world():
    """The cached synthetic world of 60,000 examples (each xdist worker shares the one cache;
    a file lock makes the second worker wait for the first instead of generating it again)."""
    import fcntl
    from garden import data
    os.makedirs(data.cache_root(), exist_ok=True)
    with open(os.path.join(data.cache_root(), ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return data.synthetic_dir(60_000, seed=1, log=lambda *a: None)


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory):
    """A synthetic world of ~3,000 ranking and ~3,000 retrieval examples."""
    from input import synthetic
    path = str(tmp_path_factory.mktemp("world"))
    synthetic.write_world(path, synthetic.WorldConfig.for_size(3000, seed=1), num_shards=2)
    return path


# Fault-injection tests (tests/faults) tally what they inflicted here; every xdist worker
# inherits the folder, and the controller prints the totals at the end of the run.
_scratch_folder("GARDEN_FAULT_TALLY", "garden-fault-tally-")


def pytest_terminal_summary(terminalreporter):
    import collections
    import json
    totals = collections.Counter()
    folder = os.environ["GARDEN_FAULT_TALLY"]
    for name in os.listdir(folder):
        with open(os.path.join(folder, name)) as f:
            for line in f:
                kind, count = json.loads(line)
                totals[kind] += count
    if totals:
        terminalreporter.write_line(
            "fault injection: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))


def pytest_unconfigure(config):
    for folder in _SCRATCH:
        shutil.rmtree(folder, ignore_errors=True)
