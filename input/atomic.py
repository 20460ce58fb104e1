"""Writes that never leave a half-written file: write to a temporary name, then rename."""
import contextlib
import os
import shutil
import tempfile


def atomic_write_text(path, text):
    """Writes `text` to `path` through a temporary file in the same folder and a rename."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary file name beside `path`; renames it to `path` if the block succeeds.

    On any error (disk full included) the temporary file is removed and `path` keeps its
    previous content.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; readers expect the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextlib.contextmanager
def atomic_dir(path):
    """Yields a temporary folder beside `path`; it replaces `path` if the block succeeds.

    A reader polling the parent folder sees either the old `path` or the complete new one.
    """
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = make_temp_dir(path)
    try:
        yield tmp
        if os.path.exists(path):
            old = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".old",
                                   dir=parent)
            os.rmdir(old)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def make_temp_dir(path):
    """A new, empty folder beside `path`, with the usual permissions (mkdtemp makes 0700)."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=parent)
    os.chmod(tmp, 0o777 & ~_umask())
    return tmp


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
