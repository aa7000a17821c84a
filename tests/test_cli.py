"""The command line end to end: train, sample, resume, eval, and clean errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargan.cli.main import cli

TINY = ["--dim", "8", "--seq-len", "16", "--batch-size", "8", "--critic-iters", "1", "--eval-every", "2",
        "--checkpoint-every", "2", "--log-every", "1", "--eval-samples", "32", "--no-progress"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def trained_run(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "tiny"
    code, out = invoke("train", "--iterations", "3", "--run", str(run), *TINY)
    assert code == 0, out
    return run


def test_train_writes_a_complete_run_directory(trained_run: Path) -> None:
    config = json.loads((trained_run / "config.json").read_text())
    assert config["model"]["dim"] == 8 and config["train"]["iterations"] == 3
    assert (trained_run / "vocab.json").is_file()
    records = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert {"floor_js1", "floor_js4"} <= set(records[0])
    assert {"js1", "js2", "js3", "js4"} <= set(records[-1]) and records[-1]["iteration"] == 3
    assert sorted(p.name for p in (trained_run / "samples").iterdir()) == [
        "samples_00000000.txt", "samples_00000002.txt", "samples_00000003.txt"]
    assert (trained_run / "plots" / "metrics.png").is_file()
    assert (trained_run / "checkpoints" / "step_00000003" / "weights.safetensors").is_file()


def test_sample_prints_exactly_n_lines(trained_run: Path) -> None:
    code, out = invoke("sample", "-n", "20", "--run", str(trained_run), "--seed", "1")
    assert code == 0
    lines = out.split("\n")
    assert len(lines) == 21 and lines[-1] == ""  # 20 lines, each newline-terminated
    assert all(len(line) <= 16 for line in lines)


def test_sample_defaults_to_the_latest_run(trained_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(trained_run.parent.parent)
    code, out = invoke("sample", "-n", "3", "--seed", "1")
    assert code == 0 and len(out.splitlines()) == 3


def test_resume_continues_the_iteration_count(trained_run: Path) -> None:
    code, out = invoke("train", "--resume", "--run", str(trained_run), "--iterations", "5", "--no-progress")
    assert code == 0, out
    assert "resumed at iteration 3 of 5" in out
    iterations = [json.loads(line)["iteration"] for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert iterations[-1] == 5 and iterations == sorted(iterations)
    assert json.loads((trained_run / "config.json").read_text())["train"]["iterations"] == 5


def test_resume_with_a_changed_model_is_refused(trained_run: Path) -> None:
    code, out = invoke("train", "--resume", "--run", str(trained_run), "--iterations", "5", "--dim", "16")
    assert code == 1
    assert "model.dim was 8, now 16" in out


def test_eval_reports_js_and_word_metrics_as_json(trained_run: Path, tmp_path: Path) -> None:
    code, out = invoke("eval", "--run", str(trained_run), "-n", "64", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert {"js1", "js2", "js3", "js4", "word_hit_rate", "copy_rate"} <= set(result)
    assert all(0.0 <= result[k] <= 1.0 for k in ("js1", "js2", "js3", "js4", "copy_rate"))
    reference = tmp_path / "ref.txt"
    reference.write_text("the quick brown fox\njumps over the lazy dog\n")
    code, out = invoke("eval", "--run", str(trained_run), "--reference", str(reference))
    assert code == 0 and "js4" in out and str(reference) in out


def test_configs_lists_presets() -> None:
    code, out = invoke("configs")
    assert code == 0
    assert "paper:" in out and "dim=512" in out and "cpu (default)" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--iterations", "-1"], "-1 is not in the range"),
        (["train", "--seq-len", "0"], "0 is not in the range"),
        (["train", "--corpus", "/nonexistent/corpus.txt"], "not found"),
        (["train", "--preset", "huge"], "unknown preset"),
        (["sample", "--run", "/nonexistent/run"], "not a chargan run"),
        (["train", "--corpus", "billion_word", "--data-dir", "/nonexistent/bw", "--no-download"], "/nonexistent/bw"),
    ],
)
def test_bad_input_gives_one_clean_error(args: list[str], message: str, tmp_path: Path) -> None:
    full = [*args, "--runs-root", str(tmp_path / "runs")] if args[0] == "train" else args
    result = CliRunner().invoke(cli, full, catch_exceptions=False)  # an uncaught exception fails the test
    assert result.exit_code in (1, 2), result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()  # nothing half-written


def test_empty_and_non_utf8_corpus_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "latin1.txt"
    binary.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    for path, message in ((empty, "empty"), (binary, "UTF-8")):
        code, out = invoke("train", "--corpus", str(path), "--runs-root", str(tmp_path / "runs"))
        assert code == 1 and message in out, out
    assert not (tmp_path / "runs").exists()


def test_seed_flag_sets_the_training_seed(tmp_path: Path) -> None:
    run = tmp_path / "seeded"
    code, out = invoke("train", "--iterations", "1", "--seed", "7", "--eval-seed", "9", "--run", str(run), *TINY)
    assert code == 0, out
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["seed"] == 7 and config["eval"]["seed"] == 9


@pytest.mark.parametrize("objective", ["wgan-clip", "gan"])
def test_other_objectives_train_from_the_command_line(tmp_path: Path, objective: str) -> None:
    run = tmp_path / objective
    code, out = invoke("train", "--iterations", "2", "--objective", objective, "--optimizer", "rmsprop",
                       "--clip-value", "0.05", "--run", str(run), *TINY)
    assert code == 0, out
    train = json.loads((run / "config.json").read_text())["train"]
    assert (train["objective"], train["optimizer"], train["clip_value"]) == (objective, "rmsprop", 0.05)


def test_train_fetches_a_missing_billion_word_unless_told_not_to(
    tmp_path: Path, billion_word_layout, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chargan.corpora.download as downloading

    data_dir = tmp_path / "data"
    fetched = []

    def fake_fetch(where, **kwargs):  # stands in for the 1.8 GB download (tested in test_download.py)
        fetched.append(where)
        return billion_word_layout(parent=Path(where))

    monkeypatch.setattr(downloading, "fetch_billion_word", fake_fetch)
    args = ["train", "--corpus", "billion_word", "--data-dir", str(data_dir), "--iterations", "1", *TINY]
    code, out = invoke(*args, "--no-download", "--run", str(tmp_path / "refused"))
    assert code == 1 and "drop --no-download" in out and fetched == []
    code, out = invoke(*args, "--run", str(tmp_path / "fetched"))
    assert code == 0, out
    assert fetched == [str(data_dir.resolve())] and "fetching it now" in out
    assert json.loads((tmp_path / "fetched" / "config.json").read_text())["data"]["corpus"] == "billion_word"


def test_data_prepare_then_info_lists_the_cache(tmp_path: Path, fresh_cache_dir: Path) -> None:
    corpus = tmp_path / "tiny.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat too\n")
    code, out = invoke("data", "prepare", str(corpus), "--seq-len", "16")
    assert code == 0, out
    assert "2 lines x 16" in out and str(fresh_cache_dir) in out
    code, out = invoke("data", "info")
    assert code == 0 and "2 lines x 16 chars" in out and "tiny" in out and "billion_word: not here" in out


def test_sample_before_any_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, out = invoke("train", "--iterations", "1", "--run", str(run), *TINY)
    assert code == 0
    for step in (run / "checkpoints").glob("step_*"):
        for f in step.iterdir():
            f.unlink()
        step.rmdir()
    (run / "checkpoints" / "latest").unlink()
    code, out = invoke("sample", "--run", str(run))
    assert code == 1 and "no checkpoint yet" in out


@pytest.mark.parametrize("broken, content, message", [
    ("config.json", "{not json", "corrupt"),
    ("config.json", "[1, 2]", "not a chargan configuration"),
    ("config.json", '{"model": {"dim": "wide"}}', "dim must be a positive integer"),
    ("vocab.json", '{"format": "chargan.vocab/1"}', "needs 'chars'"),
    ("checkpoints/step_00000003/state.pt", "", "unreadable or corrupt"),
    ("checkpoints/step_00000003/meta.json", "{}", "unreadable or corrupt"),
])
def test_corrupt_run_files_give_one_clean_error(trained_run: Path, broken: str, content: str, message: str) -> None:
    (trained_run / broken).write_text(content)
    result = CliRunner().invoke(cli, ["sample", "--run", str(trained_run)], catch_exceptions=False)
    assert result.exit_code == 1 and message in result.output, result.output


def test_resume_of_a_run_that_died_before_its_first_checkpoint_starts_clean(trained_run: Path) -> None:
    for step in (trained_run / "checkpoints").glob("step_*"):
        for f in step.iterdir():
            f.unlink()
        step.rmdir()
    code, out = invoke("train", "--resume", "--run", str(trained_run), "--iterations", "2", "--no-progress")
    assert code == 0, out
    iterations = [json.loads(line)["iteration"] for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    assert iterations == sorted(iterations) and iterations[-1] == 2


def test_resume_of_a_finished_run_says_so(trained_run: Path) -> None:
    code, out = invoke("train", "--resume", "--run", str(trained_run), "--no-progress")
    assert code == 1 and "already at iteration 3 of 3" in out


def test_run_folder_must_be_new_or_a_run(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    code, out = invoke("train", "--run", str(tmp_path), *TINY)
    assert code == 1 and "not an empty folder" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_sigterm_saves_a_checkpoint_and_exits_130(tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "chargan.cli", "train", "--iterations", "100000", "--run", str(run), *TINY]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until training is under way
            metrics = run / "metrics.jsonl"
            if metrics.exists() and '"critic_loss"' in metrics.read_text():
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, out
    assert "SIGTERM: stopped at iteration" in out and "Traceback" not in out
    stopped = json.loads((run / "checkpoints" / (run / "checkpoints" / "latest").read_text().strip() / "meta.json").read_text())
    assert stopped["iteration"] >= 1


def test_installed_command_exits_nonzero_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "CHARGAN_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "chargan.cli", "train", "--lr", "-3"], capture_output=True,
                          text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "--lr" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "chargan.cli", "train", "--corpus", "missing.txt"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: corpus") and "missing.txt' not found" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()
