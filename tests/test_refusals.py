"""Impossible values and out-of-run pointers are refused with one line, before any work (issue 14, in part)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargan.cli.main import cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "-1 is not in the range 0<=x<=9223372036854775807"),
    (["--seed", str(2**70)], "is not in the range"),
    (["--eval-seed", "-5"], "is not in the range"),
    (["--device", "mps"], "device 'mps' is not one chargan trains on"),
    (["--device", "meta"], "device 'meta' is not one chargan trains on"),
    (["--device", "toaster"], "unknown device 'toaster'"),
])
def test_impossible_values_exit_2_before_any_work(args: list[str], message: str, tmp_path: Path) -> None:
    code, out = invoke("train", *args, "--runs-root", str(tmp_path / "runs"))
    assert code == 2 and message in out, out
    assert "Traceback" not in out and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", [["sample", "--seed", "-1"], ["eval", "--seed", str(2**64)]])
def test_readers_refuse_impossible_seeds(command: list[str], tmp_path: Path) -> None:
    code, out = invoke(*command, "--run", str(tmp_path))
    assert code == 2 and "is not in the range" in out, out


@pytest.mark.parametrize("pointer", [b"/etc\n", b"../../toy/checkpoints/step_00000004\n", b"\xff\xfe\x00binary",
                                     b"step_4\n"])
def test_latest_is_only_ever_a_checkpoint_name_inside_the_run(pointer: bytes, tmp_path: Path) -> None:
    run = tmp_path / "text"
    shutil.copytree(FIXTURES / "text", run)
    (run / "checkpoints" / "latest").write_bytes(pointer)
    for command in (["sample", "-n", "2"], ["eval", "-n", "8"], ["train", "--resume", "--iterations", "6"]):
        code, out = invoke(*command, "--run", str(run))
        assert code == 1 and "does not name a checkpoint of this run" in out, (command, out)
        assert "Traceback" not in out
    (run / "checkpoints" / "latest").write_bytes(b"step_00000004\n")
    code, out = invoke("sample", "-n", "2", "--run", str(run))
    assert code == 0 and len(out.splitlines()) == 2


@pytest.mark.parametrize("args, message", [
    (["--lr", "1e308"], "lr must be a positive number of at most 3.403e+38"),
    (["--lambda-gp", "1e308"], "lambda-gp must be a non-negative number of at most"),
    (["--lr", "nan"], "lr must be a positive number, got nan"),
    (["--lr", "inf"], "lr must be a positive number, got inf"),
    (["--config", "papr"], "unknown config 'papr'"),
    (["--batch-size", "100000"], "one step's activations (--batch-size"),
    (["--dim", "1000000"], "the weights and Adam state (--dim"),
    (["--latent-dim", str(10**9)], "the weights and Adam state (--dim, --n-blocks, --latent-dim"),
    (["--critic-iters", str(10**9)], "the critic steps' fakes (--critic-iters"),
    (["--eval-samples", str(10**9)], "an evaluation's samples (--eval-samples"),
    (["--n-blocks", str(10**6)], "needs at least"),
    (["--config", "mnist", "--dim", "100000"], "the weights and Adam state (--dim, --latent-dim)"),
    (["--config", "8gaussians", "--eval-w1-points", "10000000"], "an evaluation's points"),
])
def test_values_that_cannot_work_exit_2_in_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    code, out = invoke("train", *args, "--runs-root", str(tmp_path / "runs"))
    assert code == 2 and message in out, out
    assert "Traceback" not in out and out.count("Error:") == 1 and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("model", [{"seq_len": 10**9}, {"dim": 10**12}])
def test_a_config_json_too_big_for_memory_is_refused_by_readers(model: dict, tmp_path: Path) -> None:
    run = tmp_path / "text"
    shutil.copytree(FIXTURES / "text", run)
    config = json.loads((run / "config.json").read_text())
    config["model"].update(model)
    (run / "config.json").write_text(json.dumps(config))
    for command in (["sample", "-n", "2"], ["eval", "-n", "8"]):
        code, out = invoke(*command, "--run", str(run))
        assert code == 2 and "needs at least" in out and "of memory" in out, (command, out)
        assert "Traceback" not in out


@pytest.mark.parametrize("lines", [["one line only"], ["x" * 1_000_000]])
def test_a_corpus_too_small_for_a_floor_says_so(lines: list[str], tmp_path: Path) -> None:
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("\n".join(lines) + "\n")
    code, out = invoke("train", "--corpus", str(corpus), "--iterations", "2", "--runs-root", str(tmp_path / "runs"))
    assert code == 1 and "too few to hold some out for the floor" in out, out
    assert "JS divergence is undefined" not in out and not (tmp_path / "runs").exists()


def test_sigterm_during_a_long_set_up_exits_130_leaving_nothing(tmp_path: Path) -> None:
    """The set-up (here: a corpus read made slow) answers SIGTERM with 130, not -15, and leaves no run behind."""
    slow = ("import sys, time\n"
            "import chargan.text.family as family\n"
            "real = family.load_run_corpus\n"
            "def slow(*a, **k):\n"
            "    print('setting up', flush=True); time.sleep(60); return real(*a, **k)\n"
            "family.load_run_corpus = slow\n"
            "from chargan.cli.main import cli\n"
            "cli.main(sys.argv[1:], prog_name='chargan')\n")
    process = subprocess.Popen([sys.executable, "-c", slow, "train", "--runs-root", str(tmp_path / "runs"),
                                "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "setting up"
    process.send_signal(signal.SIGTERM)
    out = process.communicate(timeout=60)[0]
    assert process.returncode == 130, out
    assert "Traceback" not in out
    assert not (tmp_path / "runs").exists()  # the run folder made for it is gone again
