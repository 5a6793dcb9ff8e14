"""Map a picklable function over work items on one of three backends, results in input order.

    settings = ParallelSettings.of("ray", workers=2, environ=os.environ)   # RAY_ADDRESS set: that cluster
    with WorkerPool(settings) as pool:                                      # ray.init / a process pool, once
        rows = pool.map(run_context, jobs, progress, "horizons")            # ordered like ``jobs``
        more = pool.starmap(horizon, arg_tuples)                            # fn(*args) per tuple

``serial`` runs in this process (the reference: every backend returns exactly what it returns), ``process`` in a
:class:`~concurrent.futures.ProcessPoolExecutor`, ``ray`` on Ray: a local instance with ``workers`` CPUs by
default, the cluster at ``address`` when one is given (``RAY_ADDRESS``, read by :meth:`ParallelSettings.of`, never
here at import time; the cluster's nodes need nextric installed, as Ray imports the functions by module). Ray is
imported only when the ray backend starts, so the runtime does not need it installed (``pip install
'nextric[dist]'``). Work items carry their own seeds: a backend changes where an item runs, never
what it computes. A failing item stops the map and raises :class:`ParallelTaskError` naming the item, the function
and the worker's exception (chained as ``__cause__``); the items not yet started are cancelled. NumPy arrays that
come back from Ray are read-only views of its object store (copy one before writing into it).
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, cast, get_args

from rich.progress import Progress

from nextric.errors import ConfigError, NextricError

Backend = Literal["serial", "process", "ray"]
BACKENDS: tuple[Backend, ...] = get_args(Backend)
T = TypeVar("T")
R = TypeVar("R")


class ParallelTaskError(NextricError):
    """One work item failed on a worker; ``index`` is its position in the items, ``__cause__`` the worker's error."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index


@dataclass(frozen=True)
class ParallelSettings:
    """Which backend runs the work and with how many workers (``address``: a Ray cluster; None: a local Ray)."""

    backend: Backend = "serial"
    workers: int = 1
    address: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"parallel backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if self.workers < 1:
            raise ConfigError(f"parallel workers must be >= 1, got {self.workers}")

    @staticmethod
    def of(backend: str, workers: int, environ: Mapping[str, str] | None = None) -> ParallelSettings:
        """Settings for ``backend`` with ``workers``; the Ray cluster address from ``environ["RAY_ADDRESS"]``."""
        if backend not in BACKENDS:
            raise ConfigError(f"parallel backend {backend!r}: choose one of {', '.join(BACKENDS)}")
        address = (environ or {}).get("RAY_ADDRESS") or None
        return ParallelSettings(backend, workers, address if backend == "ray" else None)


def split(items: Sequence[T], n_chunks: int) -> list[list[T]]:
    """``items`` cut into at most ``n_chunks`` contiguous chunks of near-equal size (the first ones one longer)."""
    if n_chunks < 1:
        raise ValueError(f"n_chunks must be >= 1, got {n_chunks}")
    n = len(items)
    k = min(n_chunks, n)
    if k == 0:
        return []
    base, extra = divmod(n, k)
    out, start = [], 0
    for i in range(k):
        stop = start + base + (1 if i < extra else 0)
        out.append(list(items[start:stop]))
        start = stop
    return out


@dataclass(frozen=True)
class _Star:
    """``fn(*args)`` as a one-argument picklable callable (for :meth:`WorkerPool.starmap`)."""

    fn: Callable[..., Any]

    def __call__(self, args: Sequence[Any]) -> Any:
        return self.fn(*args)


def _apply(fn: Callable[[T], R], x: T) -> R:
    """What a Ray task runs (a plain module function, which Ray can wrap; ``fn`` may be any picklable callable)."""
    return fn(x)


def _name(fn: Callable[..., Any]) -> str:
    inner = fn.fn if isinstance(fn, _Star) else fn
    mod = getattr(inner, "__module__", None)
    qual = getattr(inner, "__qualname__", None) or type(inner).__name__
    return f"{mod}.{qual}" if mod else qual


def _failure(backend: str, fn: Callable[..., Any], index: int, n: int, exc: BaseException) -> ParallelTaskError:
    return ParallelTaskError(f"{backend} worker: item {index} of {n} ({_name(fn)}) failed: "
                             f"{type(exc).__name__}: {exc}", index)


class WorkerPool:
    """The backend's workers, started on ``__enter__`` and stopped on ``__exit__`` (a Ray instance this pool
    started is shut down; one that was already running in this process is reused and left running)."""

    def __init__(self, settings: ParallelSettings) -> None:
        self.settings = settings
        self.startup_s = 0.0  #: seconds ``__enter__`` took (Ray: ray.init)
        self._pool: cf.ProcessPoolExecutor | None = None
        self._ray: Any = None
        self._owns_ray = False
        self._open = False

    def __enter__(self) -> Self:
        t0 = time.perf_counter()
        s = self.settings
        if s.backend == "process":
            self._pool = cf.ProcessPoolExecutor(s.workers)
        elif s.backend == "ray":
            try:
                import ray
            except ImportError as e:
                raise ConfigError("the ray backend needs Ray: pip install 'nextric[dist]'") from e
            self._ray = ray
            if not ray.is_initialized():
                if s.address:
                    ray.init(address=s.address, log_to_driver=True)
                else:  # "local": a new instance even where RAY_ADDRESS is set in the environment
                    ray.init(address="local", num_cpus=s.workers, include_dashboard=False, log_to_driver=True)
                self._owns_ray = True
        self._open = True
        self.startup_s = time.perf_counter() - t0
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self._open = False
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._ray is not None and self._owns_ray:
            self._ray.shutdown()
        self._ray = None
        self._owns_ray = False

    @property
    def workers(self) -> int:
        """Workers the backend runs items on (Ray on a cluster: the cluster's CPUs)."""
        if self._ray is not None and self.settings.address:
            return int(self._ray.cluster_resources().get("CPU", 1))
        return 1 if self.settings.backend == "serial" else self.settings.workers

    def map(self, fn: Callable[[T], R], items: Sequence[T], progress: Progress | None = None,
            description: str = "work items") -> list[R]:
        """``[fn(x) for x in items]`` on the backend, in input order; ``progress`` (rich) gets a task advanced
        as items finish."""
        if not self._open:
            raise RuntimeError("WorkerPool.map outside its `with` block")
        task = progress.add_task(description, total=len(items)) if progress is not None else None

        def done() -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        backend = self.settings.backend
        if backend == "serial":
            return list(self._serial(fn, items, done))
        if backend == "process":
            return self._process(fn, items, done)
        return self._ray_map(fn, items, done)

    def starmap(self, fn: Callable[..., R], arg_tuples: Sequence[Sequence[Any]], progress: Progress | None = None,
                description: str = "work items") -> list[R]:
        """``[fn(*a) for a in arg_tuples]`` on the backend, in input order."""
        return cast(list[R], self.map(_Star(fn), arg_tuples, progress, description))

    @staticmethod
    def _serial(fn: Callable[[T], R], items: Sequence[T], done: Callable[[], None]) -> Iterator[R]:
        for i, x in enumerate(items):
            try:
                r = fn(x)
            except Exception as e:
                raise _failure("serial", fn, i, len(items), e) from e
            done()
            yield r

    def _process(self, fn: Callable[[T], R], items: Sequence[T], done: Callable[[], None]) -> list[R]:
        assert self._pool is not None
        futs = [self._pool.submit(fn, x) for x in items]
        index = {f: i for i, f in enumerate(futs)}
        out: list[Any] = [None] * len(items)
        try:
            for f in cf.as_completed(futs):
                i = index[f]
                try:
                    out[i] = f.result()
                except Exception as e:
                    raise _failure("process", fn, i, len(items), e) from e
                done()
        finally:
            for f in futs:
                f.cancel()
        return cast(list[R], out)

    def _ray_map(self, fn: Callable[[T], R], items: Sequence[T], done: Callable[[], None]) -> list[R]:
        ray = self._ray
        remote = ray.remote(num_cpus=1, max_retries=0)(_apply)
        fn_ref = ray.put(fn)  # shipped once; Ray resolves a top-level ObjectRef argument on the worker
        refs = [remote.remote(fn_ref, x) for x in items]
        index = {r: i for i, r in enumerate(refs)}
        out: list[Any] = [None] * len(items)
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for r in ready:
                    i = index[r]
                    try:
                        out[i] = ray.get(r)
                    except ray.exceptions.RayTaskError as e:
                        cause = e.cause if isinstance(e.cause, BaseException) else e
                        raise _failure("ray", fn, i, len(items), cause) from cause
                    except ray.exceptions.RayError as e:  # a worker died, the object was lost ...
                        raise _failure("ray", fn, i, len(items), e) from e
                    done()
        finally:
            for r in pending:
                ray.cancel(r, force=False)
        return cast(list[R], out)


def parallel_map(fn: Callable[[T], R], items: Sequence[T], settings: ParallelSettings,
                 progress: Progress | None = None, description: str = "work items") -> list[R]:
    """One :meth:`WorkerPool.map` in a pool of its own (started and stopped around it)."""
    with WorkerPool(settings) as pool:
        return pool.map(fn, items, progress, description)
