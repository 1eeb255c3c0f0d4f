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
