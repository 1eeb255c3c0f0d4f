"""Where the work runs: on this process (``local``, the default) or on a Dask cluster (``dask``).

One switch for the whole run (``workbook run|intake --engine local|dask [--scheduler ADDRESS] [--workers N]``, or
``engine:`` in ``config/workbook.yaml``). ``dask`` without an address starts a ``distributed.LocalCluster`` of
worker processes (one thread each, a memory limit per worker, spilling to ``private/.dask-spill``, mode 0700) and closes it at the end;
with an address it connects to that scheduler (a cluster of many machines) and leaves it running.

The layers above use two things from here: ``Engine.map`` (one task per item, in order; locally a plain loop) and
``Engine.client`` (``None`` locally) for Dask DataFrame and the estimators' partition sums
(``helpers.analysis.effects.distributed``). Nothing here knows what the tasks compute.
"""
from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from helpers.config import PRIVATE, settings
from helpers.domain.errors import Stop

ENGINES = ("local", "dask")
MIN_WORKER_MEMORY = 10**9           # the smallest --memory-limit accepted per worker: 1GB as Dask reads it
CONNECT_SECONDS = 20                # how long to wait for a scheduler to answer, and for its first worker


class WorkersLost(Stop):
    """A Dask worker process died under a step (a task that killed it again and again, or data only it held lost
    with it), most often because it ran out of memory: a state of the cluster the user must change (exit code 2,
    one message)."""


_MEMORY: dict[str, str] = {}            # the workers' memory limit per scheduler address, once seen


def _worker_memory(client) -> str:
    """The memory limit of the cluster's workers, as Dask writes it ("5.59 GiB"; several: "2.00 GiB to 4.00 GiB");
    the last one seen for this scheduler when no worker is up (one just died), empty when none was ever seen."""
    address = getattr(getattr(client, "scheduler", None), "address", "")
    try:
        from dask.utils import format_bytes
        limits = sorted({w.get("memory_limit") or 0 for w in client.scheduler_info(n_workers=-1)["workers"].values()})
    except Exception:               # the scheduler itself may be gone
        return _MEMORY.get(address, "")
    limits = [x for x in limits if x]
    if limits:
        _MEMORY[address] = format_bytes(limits[0]) if len(limits) == 1 else \
            f"{format_bytes(limits[0])} to {format_bytes(limits[-1])}"
    return _MEMORY.get(address, "")


# What Dask raises when a worker died under a step: a task that killed its worker again and again (KilledWorker), or
# data only that worker held (the scattered partitions, intake's sheets) gone with it (a cancelled future, a closed
# connection). Each is the cluster's state, to change, not a fault of the data or of the run.
LOST_WORKER_ERRORS = ("KilledWorker", "FutureCancelledError", "CancelledError", "CommClosedError")


def workers_lost(client=None, what: str = "") -> WorkersLost:
    """The one message for a worker lost under a step (``what``): the workers' memory limit and what to change, for
    a cluster the run started and for an existing one (whose workers are started with their own limit)."""
    memory = _worker_memory(client) if client is not None else ""
    each_zh, each_en = (f"（每个工作进程 {memory}）", f" (each worker has {memory})") if memory else ("", "")
    step = f"{what}: " if what else ""
    return WorkersLost(
        f"{step}一个 Dask 工作进程在这一步中退出，通常是内存不足{each_zh}：请给每个工作进程更多内存（--memory-limit；已有集群："
        f"以更大的 --memory-limit 重启其 dask worker），或减少每台机器上的工作进程、使用更大的集群，然后重新运行 / a Dask "
        f"worker process died during this step, most often for lack of memory{each_en}: give each worker more memory "
        f"(--memory-limit; on an existing cluster, restart its dask workers with a larger --memory-limit), run fewer "
        f"workers per machine (--workers) or use a larger cluster, then run again")


def scheduler_lost(what: str = "") -> Stop:
    """The one message for a connection to the scheduler lost under a step (not a worker's memory)."""
    step = f"{what}: " if what else ""
    return Stop(f"{step}与 Dask 调度器的连接中断（调度器停止或网络断开）：请检查调度器后重新运行 / the connection to the Dask "
                "scheduler was lost (the scheduler stopped or the network failed): check the scheduler, then run again")


def _scheduler_gone(client, exc: BaseException) -> bool:
    """Whether a lost-worker error is rather the scheduler gone: Dask cancels futures with a ``scheduler-...``
    reason then, and the client no longer runs."""
    if str(getattr(exc, "reason", "") or "").startswith("scheduler-"):
        return True
    return client is not None and getattr(client, "status", "running") not in ("running", "connecting")


@contextlib.contextmanager
def lost_workers(client=None, what: str = "") -> Iterator[None]:
    """Within the block, Dask's errors for a lost worker (``LOST_WORKER_ERRORS``) become ``WorkersLost`` with one
    message (``workers_lost``), or, when the scheduler itself is gone, a ``Stop`` saying so. Other errors, and an
    interruption (Ctrl-C), pass unchanged."""
    if client is not None and not _MEMORY.get(getattr(getattr(client, "scheduler", None), "address", "")):
        _worker_memory(client)           # seen while the workers are up
    try:
        yield
    except BaseException as exc:         # asyncio's CancelledError is not an Exception
        if type(exc).__name__ not in LOST_WORKER_ERRORS:
            raise
        if _scheduler_gone(client, exc):
            raise scheduler_lost(what) from None
        raise workers_lost(client, what) from None


@dataclass(frozen=True)
class EngineSpec:
    """What the run was asked to run on: ``name`` (local or dask), ``scheduler`` (address of a running Dask
    scheduler; empty: start a local cluster), ``workers`` (local cluster processes; 0: one per core),
    ``memory_limit`` (per worker, e.g. "4GB"; "auto": the machine's memory shared evenly)."""

    name: str = "local"
    scheduler: str = ""
    workers: int = 0
    memory_limit: str = "auto"

    @classmethod
    def make(cls, name: str | None = None, scheduler: str | None = None, workers: int | None = None,
             memory_limit: str | None = None, config: dict | None = None) -> "EngineSpec":
        """The command line's choices over ``engine:`` in config/workbook.yaml over the defaults; checked."""
        conf = (settings() if config is None else config).get("engine") or {}
        spec = cls(name=str(name or conf.get("name") or "local"),
                   scheduler=str(scheduler if scheduler is not None else conf.get("scheduler") or ""),
                   workers=int(workers if workers is not None else conf.get("workers") or 0),
                   memory_limit=str(memory_limit or conf.get("memory_limit") or "auto"))
        if spec.name not in ENGINES:
            raise Stop(f"--engine must be one of {', '.join(ENGINES)}, not {spec.name!r} (config/workbook.yaml "
                       "engine.name or the command line)")
        if spec.workers < 0:
            raise Stop(f"--workers must be 0 (one per core) or more, not {spec.workers}")
        if spec.name == "local" and spec.scheduler:
            raise Stop("--scheduler needs --engine dask (the local engine runs in this process)")
        if spec.scheduler:
            if not re.fullmatch(r"(tcp|tls)://[A-Za-z0-9_.\-\[\]:]+:\d{1,5}", spec.scheduler):
                raise Stop(f"--scheduler must be a Dask scheduler's address such as tcp://10.0.0.5:8786, not "
                           f"{spec.scheduler!r} (the dashboard's http:// address is not the scheduler's)")
            if workers is not None or memory_limit is not None:
                raise Stop("--workers and --memory-limit set up a local cluster; with --scheduler the cluster's own "
                           "workers and their limits are used: drop them")
        if spec.memory_limit != "auto":
            from dask.utils import parse_bytes
            try:
                limit = parse_bytes(spec.memory_limit)
            except (ValueError, TypeError):
                raise Stop(f"--memory-limit must be an amount such as 8GB or 512MB (or auto), not "
                           f"{spec.memory_limit!r}") from None
            if limit < MIN_WORKER_MEMORY:
                raise Stop(f"--memory-limit {spec.memory_limit} is too small: a Dask worker needs at least "
                           "1GB (an idle one already holds about 0.2 GB)")
        return spec


@dataclass
class Engine:
    """A running engine. ``client`` is the Dask client (None for the local engine)."""

    spec: EngineSpec = field(default_factory=EngineSpec)
    client: Any = None
    cluster: Any = None
    say: Callable[[str], None] = field(default=lambda s: print(s, file=sys.stderr, flush=True))

    @property
    def is_dask(self) -> bool:
        return self.client is not None

    @property
    def workers(self) -> int:
        """How many worker processes the work is spread over (1 for the local engine)."""
        if self.client is None:
            return 1
        return len(self.client.scheduler_info(n_workers=-1).get("workers", {}))

    def map(self, func: Callable, items: Iterable, label: str = "", **kwargs) -> list:
        """``[func(item, **kwargs) for item in items]``, in order; on Dask one task per item, with progress
        ("label: 3/12 done") for long steps. An error in a task is raised here as it was raised there."""
        items = list(items)
        if self.client is None or not items:
            return [func(x, **kwargs) for x in items]
        from distributed import as_completed
        futures = self.client.map(func, items, pure=False, **kwargs)
        done, n, last, start = 0, len(futures), 0.0, time.monotonic()
        with lost_workers(self.client, label):
            for _ in as_completed(futures):
                done += 1
                now = time.monotonic()
                if label and (done == n or now - last > 5):
                    self.say(f"  {label}: {done}/{n} done ({now - start:.0f} s)")
                    last = now
            return self.client.gather(futures)


def _memory_limit(spec: EngineSpec, workers: int) -> str | int:
    if spec.memory_limit != "auto":
        return spec.memory_limit
    import psutil
    return int(psutil.virtual_memory().total * 0.8 / workers)


def _connect(address: str):
    """A client on the scheduler at ``address`` with at least one worker, or ``Stop`` with one message: an address
    nothing answers on, something that is not a Dask scheduler (which can leave a connection waiting forever: the
    wait is bounded here), or a scheduler without workers."""
    from distributed import Client

    box: dict = {}

    def attempt():
        try:
            box["client"] = Client(address, timeout=f"{CONNECT_SECONDS // 2}s")
        except BaseException as e:       # noqa: BLE001 - any failure becomes the one message below
            box["error"] = e

    t = threading.Thread(target=attempt, daemon=True)
    t.start()
    t.join(CONNECT_SECONDS)
    hint = "check the address (tcp://host:8786, the scheduler's port, not the dashboard's) and that the scheduler runs"
    if "client" not in box:
        why = type(box["error"]).__name__ if "error" in box else f"no answer in {CONNECT_SECONDS} s"
        raise Stop(f"could not connect to a Dask scheduler at {address} ({why}): {hint}")
    client = box["client"]
    try:
        client.wait_for_workers(1, timeout=CONNECT_SECONDS)
    except (TimeoutError, OSError):
        client.close()
        raise Stop(f"the Dask scheduler at {address} has no workers (none joined in {CONNECT_SECONDS} s): start "
                   f"them with dask worker {address}") from None
    _worker_memory(client)                       # the limit a lost worker's message names
    return client


@contextlib.contextmanager
def open_engine(spec: EngineSpec | None = None, say: Callable[[str], None] | None = None,
                dashboard: bool = True, private: Path | None = None) -> Iterator[Engine]:
    """The engine for a run: nothing to start for ``local``; for ``dask`` a client on ``spec.scheduler`` or on a
    new ``LocalCluster`` (closed at the end), its workers spilling into ``private``/.dask-spill (the run's private
    folder; default ``private/``) and its scheduler and dashboard on this machine only (127.0.0.1). The dashboard's
    address is said. A worker of the local cluster is never paused at high memory (a paused cluster waits forever):
    it is restarted, and intake or the estimators stop with a message saying to raise ``--memory-limit``."""
    spec = spec or EngineSpec()
    kw = {"say": say} if say else {}
    if spec.name == "local":
        yield Engine(spec, **kw)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:         # pragma: no cover - dask is a dependency
        raise Stop("--engine dask needs the packages dask and distributed: run bash scripts/setup.sh") from None
    eng = Engine(spec, **kw)
    if spec.scheduler:
        client = _connect(spec.scheduler)
        eng.client = client
        eng.say(f"Dask: connected to {spec.scheduler}, {eng.workers} workers; dashboard {client.dashboard_link}")
        try:
            yield eng
        finally:
            client.close()
        return
    workers = spec.workers or os.cpu_count() or 1
    # What workers spill under memory pressure can hold intake's private values (names to scrub, the quarantined
    # rows' list with 户编码) for a moment: it goes to the private folder's spill space (0700), never to .cache.
    home = Path(private) if private is not None else PRIVATE
    space = home / ".dask-spill"
    space.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    os.chmod(space, 0o700)
    import logging

    import dask
    quiet = logging.getLogger("distributed")
    level = quiet.level
    # The cluster's start and stop are said in one line, and a lost worker in one message (WorkersLost), not in
    # the scheduler's log lines (task keys, "lost scattered data") around it.
    quiet.setLevel(logging.CRITICAL)
    limit = _memory_limit(spec, workers)
    with dask.config.set({"distributed.worker.daemon": False,          # workers may start processes (Excel readers)
                          "distributed.worker.memory.pause": False,    # never wait forever on a paused worker
                          "distributed.logging.distributed": "critical",
                          "temporary-directory": str(space)}):
        try:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   memory_limit=limit, local_directory=str(space), preload=["helpers.engine.worker"],
                                   dashboard_address="127.0.0.1:0" if dashboard else None, silence_logs=50)
        except Exception as exc:        # a worker process that died while starting (killed, out of memory)
            quiet.setLevel(level)
            first = str(exc).splitlines()[0] if str(exc) else ""
            raise Stop(f"本机的 Dask 集群未能启动（{type(exc).__name__}: {first}）：请重新运行；若仍失败，请减少 --workers "
                       f"或使用 --engine local / the local Dask cluster did not start ({type(exc).__name__}: {first}): "
                       "run again; if it fails again, use fewer --workers or --engine local") from None
        client = Client(cluster)
        _worker_memory(client)                   # the limit a lost worker's message names, read while all are up
        eng.client, eng.cluster = client, cluster
        from dask.utils import format_bytes, parse_bytes
        each = format_bytes(parse_bytes(limit) if isinstance(limit, str) else limit)
        eng.say(f"Dask: a local cluster of {workers} worker processes ({each} each, spilling to {space}); dashboard "
                f"{client.dashboard_link + ' (this machine only)' if dashboard else 'off'}")
        try:
            yield eng
        finally:
            client.close()
            cluster.close()
            quiet.setLevel(level)


_ACTIVE: list[Engine] = []
SCHEDULER_ENV = "WORKBOOK_DASK_SCHEDULER"      # set by the run for its notebooks' kernels
_FROM_ENV: dict[str, Engine] = {}


def current() -> Engine:
    """The engine of the innermost ``use(...)``; outside one, in a kernel of a run on Dask, a client on the run's
    scheduler (``SCHEDULER_ENV``, connected once per process); otherwise the local engine."""
    if _ACTIVE:
        return _ACTIVE[-1]
    address = os.environ.get(SCHEDULER_ENV, "")
    if not address:
        return Engine()
    if address not in _FROM_ENV:
        from distributed import Client
        _FROM_ENV[address] = Engine(EngineSpec("dask", address), client=Client(address, timeout="10s"))
    return _FROM_ENV[address]


@contextlib.contextmanager
def kernels_use(engine: Engine) -> Iterator[None]:
    """Within the block, processes started from this one (the run's notebook kernels) use ``engine``'s scheduler
    (nothing for the local engine)."""
    if not engine.is_dask:
        yield
        return
    before = os.environ.get(SCHEDULER_ENV)
    os.environ[SCHEDULER_ENV] = engine.client.scheduler.address
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(SCHEDULER_ENV, None)
        else:
            os.environ[SCHEDULER_ENV] = before


@contextlib.contextmanager
def use(engine: Engine) -> Iterator[Engine]:
    """Make ``engine`` the one ``current()`` returns within the block."""
    _ACTIVE.append(engine)
    try:
        yield engine
    finally:
        _ACTIVE.pop()
