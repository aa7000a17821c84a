"""Impossible values and out-of-run pointers are refused with one line, before any work (issue 14, in part)."""

from __future__ import annotations

import shutil
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
