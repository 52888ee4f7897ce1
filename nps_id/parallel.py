"""Run classification batches serially, on local worker processes, or on a Dask cluster.

Every backend sends a worker only the batch of query spectra and a small :class:`~nps_id.classify.ResourceSpec`
(the library and model *paths*); the worker opens the library and model once, on its first batch, and keeps
them for the rest of the run (:func:`nps_id.classify.get_resources`). Results come back in input order.

Dask
----
``run_batches(..., dask="tcp://scheduler:8786")`` (or a ``distributed.Client``) submits the batches to that
cluster. The library and model files must be readable by every worker at the same path (a shared file
system, or a copy at the same place); the query spectra travel with the tasks, so the input files need
only be readable here.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["run_batches", "resolve_n_jobs", "worker_load_counts"]

logger = logging.getLogger(__name__)

Batch = list  # list of (position, Spectrum)


def resolve_n_jobs(n_jobs: int) -> int:
    """``n_jobs`` as a worker count: ``-1`` (or 0) means one per CPU core available to this process."""
    if n_jobs is None or n_jobs <= 0:
        try:
            return max(len(os.sched_getaffinity(0)), 1)
        except AttributeError:  # not on Linux
            return max(os.cpu_count() or 1, 1)
    return int(n_jobs)


def _task(spec: Any, spectra: list[Any], options: Any) -> list[dict[str, Any]]:
    """What a worker runs: classify one batch with this process's cached resources."""
    from nps_id.classify.core import classify_batch

    return classify_batch(spec, spectra, options)


def _worker_init(spec: Any) -> None:
    """Process-pool initializer: quiet logging; load the library and model once."""
    from nps_id.classify.resources import get_resources

    get_resources(spec)


def run_batches(
    batches: Iterable[Batch],
    spec: Any,
    options: Any,
    *,
    n_jobs: int = 1,
    dask: Any = None,
    max_pending: int | None = None,
) -> Iterator[tuple[Batch, list[dict[str, Any]]]]:
    """Classify batches and yield ``(batch, results)`` in the batches' order.

    Parameters
    ----------
    batches : iterable of list of (int, Spectrum)
        Consumed lazily (reading the input files overlaps with the workers).
    spec : ResourceSpec
        Library and model (paths, for process and Dask workers).
    options : ClassifyOptions
    n_jobs : int, default 1
        Local worker processes (1: run here, no pool; -1: one per core).
    dask : str or distributed.Client, optional
        Scheduler address or client; takes precedence over `n_jobs`.
    max_pending : int, optional
        Batches in flight at once (default: 2 per worker), bounding memory.
    """
    if dask is not None:
        yield from _run_dask(batches, spec, options, dask, max_pending)
        return
    n = resolve_n_jobs(n_jobs)
    if n == 1:
        for batch in batches:
            yield batch, _task(spec, [s for _, s in batch], options)
        return
    yield from _run_pool(batches, spec, options, n, max_pending)


def _check_picklable_paths(spec: Any, where: str) -> None:
    for what, obj in (("library", spec.library), ("model", spec.model)):
        if obj is not None and not isinstance(obj, (str, os.PathLike)) and getattr(obj, "path", None) is None:
            raise ValueError(
                f"{where} workers open the {what} from a file; save it first "
                f"(e.g. library.save('lib.h5')) and pass the path"
            )


def _as_path_spec(spec: Any) -> Any:
    """Replace a library opened from a file by its path, so workers open it themselves (memory-mapped)."""
    from nps_id.classify.resources import ResourceSpec

    lib = spec.library
    if not isinstance(lib, (str, os.PathLike)) and getattr(lib, "path", None):
        lib = lib.path
    return ResourceSpec(lib, spec.model)


def _run_pool(batches: Iterable[Batch], spec: Any, options: Any, n: int, max_pending: int | None):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    spec = _as_path_spec(spec)
    ctx = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads / open HDF5 files
    pending: deque = deque()
    limit = max_pending or 2 * n
    logger.info("classifying on %d worker processes", n)
    with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_worker_init, initargs=(spec,)) as pool:
        for batch in batches:
            pending.append((batch, pool.submit(_task, spec, [s for _, s in batch], options)))
            while len(pending) >= limit:
                b, fut = pending.popleft()
                yield b, fut.result()
        while pending:
            b, fut = pending.popleft()
            yield b, fut.result()


def _client(dask: Any) -> tuple[Any, bool]:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError(
            "classifying on a Dask cluster needs dask and distributed: pip install 'nps_id[dask]'"
        ) from None
    if isinstance(dask, Client):
        return dask, False
    return Client(str(dask), set_as_default=False), True


def _run_dask(batches: Iterable[Batch], spec: Any, options: Any, dask: Any, max_pending: int | None):
    spec = _as_path_spec(spec)
    _check_picklable_paths(spec, "Dask")
    client, own = _client(dask)
    try:
        n_workers = max(len(client.scheduler_info(n_workers=-1).get("workers", {})), 1) if hasattr(client, "scheduler_info") else 1
    except TypeError:
        n_workers = max(len(client.scheduler_info().get("workers", {})), 1)
    limit = max_pending or 2 * n_workers
    logger.info("classifying on the Dask cluster at %s (%d workers)", client.scheduler.address, n_workers)
    pending: deque = deque()
    try:
        for batch in batches:
            fut = client.submit(_task, spec, [s for _, s in batch], options, pure=False)
            pending.append((batch, fut))
            while len(pending) >= limit:
                b, f = pending.popleft()
                yield b, f.result()
        while pending:
            b, f = pending.popleft()
            yield b, f.result()
    finally:
        for _, f in pending:
            f.cancel()
        if own:
            client.close()


def worker_load_counts(client: Any) -> dict[str, int]:
    """How many times each Dask worker loaded a library/model: ``{worker address: count}``."""

    def count() -> int:
        from nps_id.classify.resources import load_count

        return load_count()

    return client.run(count)
