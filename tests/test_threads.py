"""How many CPU threads a run takes: explicit --threads, the environment, or the model's size and the machine's load."""

from __future__ import annotations

import os

import pytest
import torch

from chargan.core import device
from chargan.core.device import SMALL_MODEL_PARAMETERS, choose_threads


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch):
    """A machine of ``cores`` cores and 1-minute load ``load`` (this process's own share ``own``), with no
    thread variables set."""
    for variable in device.THREAD_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)

    def make(cores: int, load: float, own: float = 0.0) -> None:
        monkeypatch.setattr(device, "available_cores", lambda: cores)
        monkeypatch.setattr(device.os, "getloadavg", lambda: (load, load, load))
        monkeypatch.setattr(device, "own_load", lambda: own)

    return make


def test_an_explicit_count_wins(machine) -> None:
    machine(8, 0.0)
    assert choose_threads(3, 10**9) == (3, "--threads")


def test_the_environment_is_a_choice(machine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine(8, 0.0)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert choose_threads(None, 10**9) == (torch.get_num_threads(), "$OMP_NUM_THREADS")


def test_a_small_model_takes_one_thread(machine) -> None:
    machine(16, 0.0)
    threads, why = choose_threads(None, SMALL_MODEL_PARAMETERS - 1)
    assert threads == 1 and "small model" in why


@pytest.mark.parametrize("cores, load, processes, expected", [
    (2, 0.1, None, 2),    # alone: every core
    (2, 1.9, None, 1),    # beside another run: the free core, never none
    (16, 4.0, None, 12),  # the cores other work leaves
    (16, 0.0, 4, 4),      # torchrun with 4 local processes: a quarter each
    (2, 9.0, None, 1),
])
def test_a_large_model_takes_the_free_cores(machine, cores: int, load: float, processes: int | None,
                                            expected: int) -> None:
    machine(cores, load)
    assert choose_threads(None, 10**7, processes)[0] == expected


def test_torchrun_local_processes_share_the_cores(machine, monkeypatch: pytest.MonkeyPatch) -> None:
    machine(8, 0.0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    assert choose_threads(None, 10**7)[0] == 4


@pytest.mark.parametrize("cores, load, own, expected", [
    (2, 1.2, 1.0, 2),   # the load is this process's own start (imports, building the model): every core
    (2, 0.3, 1.0, 2),   # an estimate above the load counts as no other work, never less
    (2, 2.2, 1.0, 1),   # another run beside it still leaves one core
])
def test_this_processs_own_load_is_not_other_work(machine, cores: int, load: float, own: float,
                                                  expected: int) -> None:
    machine(cores, load, own)
    threads, why = choose_threads(None, 10**7)
    assert threads == expected and f"load {max(0.0, load - own):.1f} from other work" in why


def test_the_own_load_estimate_is_a_share_of_this_process() -> None:
    # CPU time over age: never negative, never more than every core busy for the whole window.
    assert 0.0 <= device.own_load() <= (os.cpu_count() or 1) + 0.01
