"""One advisory file lock for the processes that write one file or folder (library saves, the default-model build)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["file_lock"]

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def file_lock(path: Path, waiting_for: str) -> Iterator[None]:
    """Hold an exclusive advisory lock (POSIX ``flock``) on the file `path` (created if missing).

    A process that finds the lock taken logs ``another nps_id process is <waiting_for>; waiting for it`` and waits.
    Where ``flock`` is not available (Windows, a file system without it) this is a no-op: callers rely on unique
    temporary files and atomic renames as well.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            t0 = time.monotonic()
            logger.info("another nps_id process is %s; waiting for it", waiting_for)
            fcntl.flock(fh, fcntl.LOCK_EX)
            logger.info("waited %.0f s", time.monotonic() - t0)
        except OSError as exc:  # a file system without flock
            logger.debug("cannot lock %s (%s)", path, exc)
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
