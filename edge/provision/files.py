"""Files written so that a crash or a power cut leaves the old file or the new one, never half
of one: a temporary file beside it, flushed to disk, then renamed over it."""

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int) -> bool:
    """Write `data` to `path` with `mode`; False when the file already held exactly that."""
    if _holds(path, data, mode):
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return True


def install(source: Path, destination: Path, mode: int) -> bool:
    """Copy `source` to `destination` atomically; False when it was already there."""
    return write_atomically(destination, source.read_bytes(), mode)


def _holds(path: Path, data: bytes, mode: int) -> bool:
    try:
        return (path.stat().st_mode & 0o777) == mode and path.read_bytes() == data
    except OSError:
        return False
