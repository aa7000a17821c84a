"""A run survives kills, a second writer, a full disk and readers racing the pruning (issue 14)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import torch.nn.functional as F

from chargan import Callback, ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig
from chargan.cli.main import cli
from chargan.core import checkpoint as checkpoint_module
from chargan.core.checkpoint import load_checkpoint, save_checkpoint
from chargan.core.run import RunDirectory

REPO = Path(__file__).resolve().parent.parent
CRASH_RUNNER = Path(__file__).resolve().parent / "crash_runner.py"
# Checkpoints (every 4) off the records (every 5): a resume starts between two records.
TINY = ["--dim", "8", "--seq-len", "16", "--batch-size", "8", "--critic-iters", "1", "--iterations", "12",
        "--log-every", "5", "--eval-every", "6", "--checkpoint-every", "4", "--eval-samples", "32",
        "--threads", "1", "--no-progress"]
TIMING = ("seconds", "it_per_sec")  # the only fields a resume may change


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def metrics(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in TIMING} for line in lines]


def final_weights(run: Path) -> dict:
    return load_checkpoint(run / "checkpoints").weights


def leftovers(run: Path) -> list[str]:
    """Temporary files and folders a writer leaves when it is killed."""
    return sorted(str(p.relative_to(run)) for p in run.rglob(".*") if p.name not in (".lock", ".lock.owner"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    code, out = invoke("train", "--run", str(run), *TINY)
    assert code == 0, out
    return run


def assert_same_run(run: Path, reference: Path) -> None:
    assert metrics(run) == metrics(reference)
    got, want = final_weights(run), final_weights(reference)
    assert got.keys() == want.keys()
    for module in want:
        for name in want[module]:
            assert torch.equal(got[module][name], want[module][name]), (module, name)


# ------------------------------------------------------------- kills at each write point
@pytest.mark.parametrize("kind, n", [("replace", 1), ("replace", 2), ("replace", 4), ("replace", 9),
                                     ("rename", 1), ("rename", 2), ("append", 1), ("append", 4)])
def test_a_kill_at_any_write_resumes_to_the_uninterrupted_run(kind: str, n: int, tmp_path: Path,
                                                              uninterrupted: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    crashed = subprocess.run([sys.executable, str(CRASH_RUNNER), kind, str(n), "train", "--run", str(run), *TINY],
                             capture_output=True, text=True, env=env, timeout=300)
    assert crashed.returncode == 137, crashed.stdout + crashed.stderr  # the kill point was reached
    code, out = invoke("train", "--resume", "--run", str(run), *TINY)
    assert code == 0, out
    assert leftovers(run) == []
    assert_same_run(run, uninterrupted)


class StopAt(Callback):
    """Asks the trainer to stop (as SIGTERM does) once iteration ``at`` is done."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_iteration_end(self, trainer) -> None:  # noqa: ANN001
        if trainer.iteration == self.at:
            trainer.stop_signal = "SIGTERM"


def tiny_trainer(run: Path, callbacks: list[Callback] = ()) -> Trainer:
    torch.manual_seed(0)
    rows = torch.randint(0, 5, (64, 8), generator=torch.Generator().manual_seed(1))
    return Trainer(ConvGenerator(5, seq_len=8, dim=8, latent_dim=4, n_blocks=1),
                   ConvCritic(5, seq_len=8, dim=8, n_blocks=1),
                   RowSampler(rows, transform=lambda ids: F.one_hot(ids, 5).float()),
                   TrainConfig(iterations=20, batch_size=8, critic_iters=2, log_every=5, checkpoint_every=100,
                               device="cpu"),
                   run=RunDirectory(run), progress=False, callbacks=list(callbacks))


def test_a_stop_between_records_resumes_with_exact_metrics(tmp_path: Path) -> None:
    """Stopped at iteration 7 (records every 5): the resumed record 10 still averages iterations 6..10."""
    tiny_trainer(tmp_path / "whole").fit()
    stopped = tiny_trainer(tmp_path / "run", [StopAt(7)])
    assert stopped.fit().iteration == 7
    assert len(load_checkpoint(tmp_path / "run" / "checkpoints").state["pending"]["values"]) == 2  # 6 and 7
    resumed = tiny_trainer(tmp_path / "run")
    assert resumed.resume()
    resumed.fit()
    assert metrics(tmp_path / "run") == metrics(tmp_path / "whole")
    assert [r["iteration"] for r in metrics(tmp_path / "run")] == [5, 10, 15, 20]


# ----------------------------------------------------------------------- one writer
def test_a_second_writer_is_refused_naming_the_first(tmp_path: Path, uninterrupted: Path) -> None:
    run = tmp_path / "run"
    holder = RunDirectory(run)
    holder.lock()
    try:
        code, out = invoke("train", "--run", str(run), *TINY)
        assert code == 1 and "is being written by another process" in out, out
        assert f"PID {os.getpid()} on host {socket.gethostname()}" in out and "Traceback" not in out
    finally:
        holder.unlock()
    shutil.copytree(uninterrupted, tmp_path / "trained")
    holder = RunDirectory(tmp_path / "trained")
    holder.lock()
    try:
        code, out = invoke("train", "--resume", "--run", str(tmp_path / "trained"), *TINY, "--iterations", "16")
        assert code == 1 and f"PID {os.getpid()}" in out, out
    finally:
        holder.unlock()
    assert metrics(tmp_path / "trained") == metrics(uninterrupted)  # the refused writer wrote nothing


def test_a_lock_of_a_dead_process_never_blocks(tmp_path: Path, uninterrupted: Path) -> None:
    run = tmp_path / "run"
    dead = subprocess.run([sys.executable, "-c", "import os, sys; from chargan.core.run import RunDirectory; "
                           f"RunDirectory({str(run)!r}).lock(); os._exit(9)"], timeout=120)
    assert dead.returncode == 9 and (run / ".lock").exists()
    code, out = invoke("train", "--run", str(run), *TINY)
    assert code == 0, out
    assert_same_run(run, uninterrupted)


def test_two_trainings_started_together_on_one_new_run(tmp_path: Path, uninterrupted: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "chargan.cli", "train", "--run", str(run), *TINY]
    both = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            for _ in range(2)]
    outcomes = sorted((p.wait(timeout=300), p.stdout.read()) for p in both)  # type: ignore[union-attr]
    (ok, _), (refused, message) = outcomes
    assert ok == 0 and refused == 1, outcomes
    assert ("being written by another process" in message or "already holds a run" in message), message
    assert "Traceback" not in message
    assert_same_run(run, uninterrupted)


# ---------------------------------------------------------------- what a crash leaves
def test_opening_a_run_removes_its_stale_temporary_files(tmp_path: Path, uninterrupted: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(uninterrupted, run)
    stale = [run / "plots" / ".metrics.png.x1.tmp", run / "checkpoints" / ".latest.x2.tmp",
             run / "samples" / ".samples_00000006.txt.x3.tmp", run / ".metrics.jsonl.x4.tmp"]
    for path in stale:
        path.write_text("half")
    (run / "checkpoints" / ".step_00000016.x5").mkdir()
    code, out = invoke("train", "--resume", "--run", str(run), *TINY, "--iterations", "16")
    assert code == 0, out
    assert leftovers(run) == []


@pytest.mark.parametrize("resume", [False, True])
def test_a_start_that_died_before_its_first_record_starts_again_in_place(resume: bool, tmp_path: Path,
                                                                         uninterrupted: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    for name in (".lock", "vocab.json", ".config.json.x1.tmp"):
        (run / name).write_text("")
    (run / "metrics.jsonl").write_text('{"iteration": 0, "floor_js1": 0.1}\n{"iter')
    code, out = invoke("train", *(["--resume"] if resume else []), "--run", str(run), *TINY)
    assert code == 0, out
    assert "died before its first record; it starts again in place" in out
    assert_same_run(run, uninterrupted)


def test_a_refused_start_leaves_nothing(tmp_path: Path) -> None:
    code, out = invoke("train", "--corpus", str(tmp_path / "missing.txt"), "--runs-root", str(tmp_path / "runs"), *TINY)
    assert code == 1 and "not found" in out, out
    assert not (tmp_path / "runs").exists()


def test_a_folder_of_someone_else_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    code, out = invoke("train", "--run", str(tmp_path), *TINY)
    assert code == 1 and "is not an empty folder" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


# --------------------------------------------------------------- readers and pruning
def test_a_reader_follows_latest_when_its_checkpoint_is_pruned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = torch.nn.Linear(2, 2)
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder, 1, {"generator": module}, keep=1)
    real_load = checkpoint_module.load_file
    calls = []

    def racing_load(path: str, device: str = "cpu"):  # noqa: ANN202
        calls.append(path)
        if len(calls) == 1:  # the trainer saves step 2 and prunes step 1 while the reader reads step 1
            save_checkpoint(folder, 2, {"generator": module}, keep=1)
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return real_load(path, device=device)

    monkeypatch.setattr(checkpoint_module, "load_file", racing_load)
    assert load_checkpoint(folder).iteration == 2
    assert [Path(p).parent.name for p in calls] == ["step_00000001", "step_00000002"]


def test_a_checkpoint_that_is_broken_in_place_is_still_reported(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    save_checkpoint(folder, 1, {"generator": torch.nn.Linear(2, 2)})
    (folder / "step_00000001" / "weights.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(Exception, match="unreadable or corrupt"):
        load_checkpoint(folder)


# -------------------------------------------------------------------------- full disk
def test_a_full_disk_is_one_error_and_the_run_resumes(tmp_path: Path, uninterrupted: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write after the N-th metrics line fails with ENOSPC (a Python-level disk), then space returns."""
    from chargan.core import atomic, run as run_module

    run = tmp_path / "run"
    real_append, real_atomic = run_module.append_line, atomic.atomic_write
    lines = []

    def full(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    def append_line(path, line):  # noqa: ANN001, ANN202
        lines.append(line)
        if len(lines) > 3:
            monkeypatch.setattr(atomic, "atomic_write", full)  # checkpoints, plots, samples: full from now on
            full()
        real_append(path, line)

    monkeypatch.setattr(run_module, "append_line", append_line)
    code, out = invoke("train", "--run", str(run), *TINY)
    assert code == 1 and "the disk is full" in out and "--resume" in out, out
    assert "Traceback" not in out and out.count("Error:") == 1
    monkeypatch.setattr(run_module, "append_line", real_append)
    monkeypatch.setattr(atomic, "atomic_write", real_atomic)
    code, out = invoke("train", "--resume", "--run", str(run), *TINY)
    assert code == 0, out
    assert leftovers(run) == []
    assert_same_run(run, uninterrupted)


def _can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_tmpfs(), reason="needs unshare and a tmpfs mount in a user namespace")
@pytest.mark.parametrize("room_kib, extra, fills", [
    (4, "", "metrics.jsonl"), (12, "", "config.json"), (24, "", "metrics.png"), (100, "", "weights.safetensors"),
    (320, "", "state.pt"),
    (16, "--tensorboard", "tensorboard"),  # the events writer's own thread meets the full disk
])
def test_a_real_full_disk_at_each_kind_of_write(room_kib: int, extra: str, fills: str, tmp_path: Path,
                                                uninterrupted: Path) -> None:
    """A small tmpfs fills at the metrics, the config, the plot, a checkpoint or the TensorBoard events (by how
    much room is left); freeing it lets the same run resume in place to the uninterrupted result."""
    script = tmp_path / "full.sh"
    run = "$DISK/run"
    args = " ".join([*TINY, extra])
    script.write_text(f"""set -u
DISK=$(mktemp -d)
mount -t tmpfs -o size=2m tmpfs "$DISK"
head -c $((2048 * 1024 - {room_kib} * 1024)) /dev/zero > "$DISK/ballast"
OMP_NUM_THREADS=1 {sys.executable} -m chargan.cli train --run {run} {args} > {tmp_path}/full.out 2>&1
echo $? > {tmp_path}/full.rc
rm "$DISK/ballast"
# A run that had recorded its config resumes in place; a start that failed before left nothing and starts again.
if [ -e {run}/config.json ]; then again=--resume; else again=; fi
OMP_NUM_THREADS=1 {sys.executable} -m chargan.cli train $again --run {run} {args} > {tmp_path}/resume.out 2>&1
echo $? > {tmp_path}/resume.rc
cp -r {run} {tmp_path}/copied
""")
    subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "bash", str(script)], timeout=600, check=True)
    full_out = (tmp_path / "full.out").read_text()
    if (tmp_path / "full.rc").read_text().strip() == "0":
        pytest.fail(f"the disk never filled with {room_kib} KiB of room: {full_out}")
    assert (tmp_path / "full.rc").read_text().strip() == "1", full_out
    assert "the disk is full writing" in full_out and "Traceback" not in full_out, full_out
    assert fills in full_out.split("the disk is full writing")[1].split("(")[0], full_out
    assert full_out.count("Error:") == 1
    assert (tmp_path / "resume.rc").read_text().strip() == "0", (tmp_path / "resume.out").read_text()
    assert leftovers(tmp_path / "copied") == []
    assert_same_run(tmp_path / "copied", uninterrupted)
