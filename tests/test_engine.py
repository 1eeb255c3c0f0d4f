"""The engine switch (helpers.engine): checked choices, the local engine as a plain loop, a Dask LocalCluster of
worker processes that runs tasks in order and raises a task's error where it was asked for."""
from __future__ import annotations

import pytest

from helpers.domain.errors import Stop
from helpers.engine import Engine, EngineSpec, current, use


def _square(x, k=1):
    return x * x * k


def _fail(x):
    raise ValueError(f"bad item {x}")


def test_the_command_line_wins_over_config_and_bad_choices_stop_with_a_message():
    conf = {"engine": {"name": "dask", "workers": 3, "scheduler": ""}}
    assert EngineSpec.make(config=conf) == EngineSpec("dask", "", 3, "auto")
    assert EngineSpec.make("local", config=conf).name == "local"
    assert EngineSpec.make(config={}) == EngineSpec()
    with pytest.raises(Stop, match="--engine must be one of local, dask"):
        EngineSpec.make("spark", config={})
    with pytest.raises(Stop, match="--scheduler needs --engine dask"):
        EngineSpec.make("local", scheduler="tcp://10.0.0.1:8786", config={})
    with pytest.raises(Stop, match="--workers"):
        EngineSpec.make("dask", workers=-1, config={})


def test_local_engine_is_a_loop_and_current_follows_use():
    e = Engine()
    assert not e.is_dask and e.workers == 1 and e.map(_square, [1, 2, 3], k=2) == [2, 8, 18]
    assert current().spec.name == "local"
    fake = Engine(EngineSpec("dask"))
    with use(fake):
        assert current() is fake
    assert current() is not fake


def test_dask_engine_runs_tasks_on_worker_processes_in_order(dask_engine):
    import os
    assert dask_engine.is_dask and dask_engine.workers == 2
    assert dask_engine.map(_square, range(20), k=3) == [3 * x * x for x in range(20)]
    pids = set(dask_engine.map(lambda _: os.getpid(), range(8)))
    assert os.getpid() not in pids                       # the work ran in other processes
    with pytest.raises(ValueError, match="bad item 2"):
        dask_engine.map(_fail, [2])


def test_an_unreachable_scheduler_stops_with_the_address():
    from helpers.engine import open_engine
    with pytest.raises(Stop, match="tcp://127.0.0.1:1"):
        with open_engine(EngineSpec("dask", scheduler="tcp://127.0.0.1:1")):
            pass


@pytest.mark.parametrize("address", ["foo", "http://127.0.0.1:8787", "127.0.0.1:8786", "tcp://host"])
def test_a_scheduler_address_that_is_not_one_stops_before_connecting(address):
    """A reviewer's --scheduler foo / the dashboard's http:// address gave a traceback (exit 1)."""
    with pytest.raises(Stop, match="such as tcp://10.0.0.5:8786"):
        EngineSpec.make("dask", scheduler=address, config={})


@pytest.mark.parametrize("limit, message", [("lots", "such as 8GB"), ("0", "too small"), ("200MB", "too small"),
                                            ("900MB", "at least 1GB")])
def test_a_memory_limit_that_cannot_serve_stops_with_a_message(limit, message):
    """'lots' and '0' crashed with tracebacks; 200MB let the workers pause at once and the run wait forever."""
    with pytest.raises(Stop, match=message):
        EngineSpec.make("dask", memory_limit=limit, config={})
    assert EngineSpec.make("dask", memory_limit="2GB", config={}).memory_limit == "2GB"
    # the smallest the message names is accepted as written (1GB was refused: 10^9 bytes < 1 GiB)
    assert EngineSpec.make("dask", memory_limit="1GB", config={}).memory_limit == "1GB"


def test_local_cluster_options_with_a_scheduler_are_refused_not_ignored():
    with pytest.raises(Stop, match="drop them"):
        EngineSpec.make("dask", scheduler="tcp://10.0.0.5:8786", workers=4, config={})


def test_a_server_that_is_not_a_dask_scheduler_stops_within_the_bound(monkeypatch):
    """Something that accepts the connection and never answers (a reviewer's HTTP server on the port) left the
    run waiting forever; now it stops after CONNECT_SECONDS with the address."""
    import socket
    import threading
    import time

    import helpers.engine as engine
    from helpers.engine import open_engine

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    held = []
    threading.Thread(target=lambda: held.append(srv.accept()), daemon=True).start()
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 3)
    port = srv.getsockname()[1]
    t0 = time.monotonic()
    with pytest.raises(Stop, match=f"tcp://127.0.0.1:{port}"):
        with open_engine(EngineSpec("dask", scheduler=f"tcp://127.0.0.1:{port}")):
            pass
    assert time.monotonic() - t0 < 15
    srv.close()


def test_the_local_cluster_listens_on_this_machine_only_and_spills_into_the_private_folder(tmp_path):
    """The dashboard was bound to 0.0.0.0 (open to the office network) and --private was ignored for spilling."""
    from helpers.engine import open_engine

    lines = []
    with open_engine(EngineSpec("dask", workers=1, memory_limit="2GB"), say=lines.append, private=tmp_path) as e:
        assert e.client.scheduler.address.startswith("tcp://127.0.0.1:")
        assert "127.0.0.1" in e.client.dashboard_link and "(this machine only)" in lines[0]
        assert str(tmp_path / ".dask-spill") in lines[0]
        assert (tmp_path / ".dask-spill").stat().st_mode & 0o777 == 0o700


def _die(_):
    """A task that takes its worker process down, as the kernel's out-of-memory killer does."""
    import os
    os._exit(1)


def test_a_worker_killed_again_and_again_stops_with_a_memory_message_not_killedworker(tmp_path):
    """A worker killed repeatedly (out of memory) failed the step with Dask's KilledWorker and its task key: now one
    message (a Stop: exit code 2) naming the step, the workers' memory and what to change, in both languages; the
    same from the estimators' partition runner. Other task errors pass unchanged."""
    import dask

    from helpers.analysis.effects.distributed import _Runner
    from helpers.engine import WorkersLost, open_engine

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            open_engine(EngineSpec("dask", workers=1, memory_limit="1GB"), private=tmp_path, dashboard=False) as e:
        with pytest.raises(WorkersLost) as got:
            e.map(_die, [1], label="reading submissions")
        text = str(got.value)
        assert isinstance(got.value, Stop) and "KilledWorker" not in text and "_die" not in text
        assert text.startswith("reading submissions: ") and "0.93 GiB" in text and "--memory-limit" in text   # 1GB
        assert "内存不足" in text and "for lack of memory" in text
        with pytest.raises(WorkersLost, match=r"^estimation on household partitions: .*--memory-limit"):
            _Runner(e, [1]).run(_die, [1])
        with pytest.raises(ZeroDivisionError):             # not every task error is a lost worker
            e.map(lambda x: 1 / x, [0])


def test_a_worker_lost_with_the_data_only_it_held_stops_with_the_same_message(tmp_path, capfd):
    """One death is enough when the worker held data nobody can recompute (the estimators' scattered partitions,
    intake's sheets): a reviewer got FutureCancelledError or CommClosedError with task keys, exit code 3, and the
    scheduler's log lines. Now the same one message, whatever Dask raised, and nothing else on stderr."""
    import pandas as pd

    from helpers.analysis.effects.distributed import _Runner
    from helpers.engine import WorkersLost, open_engine
    from helpers.intake.partitioned import _Tasks

    with open_engine(EngineSpec("dask", workers=1, memory_limit="1GB"), private=tmp_path, dashboard=False) as e:
        capfd.readouterr()
        runner = _Runner(e, [pd.DataFrame({"household_id": [1, 2]})])          # held by the one worker only
        with pytest.raises(WorkersLost, match=r"^estimation on household partitions: .*--memory-limit"):
            runner.run(_die, runner.parts)
        e.client.wait_for_workers(1, timeout=60)          # the nanny restarts the worker
        tasks = _Tasks(e, "2023Q2")                      # intake: the county's sheets stay on the worker that read them
        tasks.where["巴州区"] = next(iter(e.client.scheduler_info()["workers"]))
        with pytest.raises(WorkersLost, match=r"^intake 2023Q2 \(巴州区\): .*--memory-limit"):
            tasks.run(_die, {"巴州区": (1,)})
        err = capfd.readouterr().err
        assert "Traceback" not in err and "scattered" not in err and "_die" not in err, err


def test_a_cluster_that_does_not_start_stops_with_a_message(tmp_path, monkeypatch):
    """A worker killed while the local cluster started gave about 40 lines of Dask's traceback (exit code 1)."""
    import distributed

    from helpers.engine import open_engine

    def broken(*a, **k):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(distributed, "LocalCluster", broken)
    with pytest.raises(Stop, match=r"did not start \(RuntimeError: Nanny failed to start\.\): run again"):
        with open_engine(EngineSpec("dask", workers=1, memory_limit="1GB"), private=tmp_path, dashboard=False):
            pass


def test_a_lost_scheduler_is_not_called_a_workers_memory():
    """A future cancelled because the scheduler went away (Dask's reason 'scheduler-connection-lost') or a client
    that no longer runs is the network or the scheduler, not a worker's memory: its own message, still a Stop."""
    from helpers.engine import WorkersLost, lost_workers

    class FutureCancelledError(Exception):
        def __init__(self, reason):
            super().__init__("x cancelled")
            self.reason = reason

    class Closed:
        status = "closed"
        scheduler = None

    with pytest.raises(Stop, match="connection to the Dask scheduler was lost") as got:
        with lost_workers(None, "indicators"):
            raise FutureCancelledError("scheduler-connection-lost")
    assert not isinstance(got.value, WorkersLost) and str(got.value).startswith("indicators: ")
    with pytest.raises(Stop, match="connection to the Dask scheduler was lost"):
        with lost_workers(Closed(), "indicators"):
            raise FutureCancelledError("lost dependencies")
    with pytest.raises(WorkersLost, match="for lack of memory"):
        with lost_workers(None, "indicators"):
            raise FutureCancelledError("lost dependencies")
