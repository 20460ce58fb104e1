"""A full disk while writing checkpoints, exports and metrics: an error, never a corrupt or
half-written artifact, and the previous good state stays readable. Runs on a small tmpfs."""
import errno
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from garden import config, evaluate, export, registry
from input.atomic import atomic_write_text
from input.specs import Schema
from tests.faults.conftest import tally


@pytest.fixture
def small_fs(tmp_path):
    path = tmp_path / "small"
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder, leave_bytes):
    """Fills the file system of `folder` until only about `leave_bytes` are free."""
    stat = os.statvfs(folder)
    free = stat.f_bavail * stat.f_frsize
    with open(os.path.join(folder, "filler"), "wb") as f:
        f.write(b"\0" * max(free - leave_bytes, 0))


def hidden_leftovers(folder):
    return [n for n in os.listdir(folder) if n.startswith(".") and n.endswith(".tmp")]


def test_metrics_file_keeps_its_old_content(small_fs):
    path = os.path.join(small_fs, "metrics.json")
    atomic_write_text(path, '{"auc": 0.7}')
    fill(small_fs, 0)
    tally("disk-full writes tried")
    with pytest.raises(OSError) as raised:
        atomic_write_text(path, "x" * 100_000)
    assert raised.value.errno == errno.ENOSPC
    assert open(path).read() == '{"auc": 0.7}' and not hidden_leftovers(small_fs)


def test_checkpoint_save_fails_and_the_previous_checkpoint_restores(small_fs):
    table = tf.Variable(np.arange(64 * 1024, dtype=np.float32).reshape(256, 256))
    checkpoint = tf.train.Checkpoint(table=table)
    manager = tf.train.CheckpointManager(checkpoint, os.path.join(small_fs, "ckpt"), 3)
    first = manager.save(checkpoint_number=1)
    table.assign_add(tf.ones_like(table))
    fill(small_fs, 64 << 10)  # room for a little, not for another 256 KB table
    tally("disk-full writes tried")
    with pytest.raises((tf.errors.ResourceExhaustedError, tf.errors.UnknownError, OSError)):
        manager.save(checkpoint_number=2)
    assert tf.train.latest_checkpoint(os.path.join(small_fs, "ckpt")) == first
    restored = tf.Variable(tf.zeros_like(table))
    tf.train.Checkpoint(table=restored).restore(first).assert_consumed()
    assert restored.numpy()[0, 1] == 1.0  # the first checkpoint's values, intact


def test_export_fails_cleanly_and_leaves_no_version(small_fs, tiny_world):
    data_dir = os.path.join(tiny_world, "ranking")
    schema = Schema.load(data_dir)
    cfg = config.resolve("deepfm", overrides={"data.data_dir": tiny_world})
    model = registry.build_model(cfg, schema)
    evaluate.build_with_batch(model, schema, os.path.join(data_dir, "test-*"))
    base = os.path.join(small_fs, "export")
    os.makedirs(base)
    fill(small_fs, 16 << 10)  # far less than a SavedModel takes
    tally("disk-full writes tried")
    with pytest.raises(Exception) as raised:
        export.export_model(model, schema, base, "deepfm")
    assert "space" in str(raised.value).lower() or getattr(raised.value, "errno", 0) == \
        errno.ENOSPC, raised.value
    left = [os.path.join(d, n) for d, dirs, files in os.walk(base) for n in dirs + files]
    assert not [p for p in left if os.path.basename(p).isdigit() or os.path.isfile(p)], left
