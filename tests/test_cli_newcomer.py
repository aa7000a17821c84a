"""What a newcomer meets at the command line: sample options, floors beside figures, help with defaults."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from chargan.cli.main import cli

TINY = ["--dim", "8", "--seq-len", "16", "--batch-size", "8", "--critic-iters", "1", "--eval-every", "2",
        "--checkpoint-every", "2", "--log-every", "1", "--eval-samples", "32", "--no-progress"]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("newcomer") / "run"
    code, out = invoke("train", "--iterations", "3", "--run", str(run), *TINY)
    assert code == 0, out
    return run


def test_sample_output_writes_exactly_n_lines(text_run: Path, tmp_path: Path) -> None:
    target = tmp_path / "samples.txt"
    code, out = invoke("sample", "-n", "7", "--run", str(text_run), "--seed", "3", "--output", str(target))
    assert code == 0 and out == f"wrote 7 samples to {target}\n", out
    written = target.read_text(encoding="utf-8")
    assert written.endswith("\n") and len(written.splitlines()) == 7
    code, printed = invoke("sample", "-n", "7", "--run", str(text_run), "--seed", "3")
    assert printed == written  # the same samples, to a file instead of the terminal


def test_decode_sample_is_reproducible_and_differs_from_argmax(text_run: Path) -> None:
    def lines(*extra: str) -> list[str]:
        code, out = invoke("sample", "-n", "20", "--run", str(text_run), "--seed", "5", *extra)
        assert code == 0, out
        return out.splitlines()

    drawn = lines("--decode", "sample")
    assert drawn == lines("--decode", "sample") and len(drawn) == 20
    assert drawn != lines()  # argmax, the default
    assert lines("--decode", "sample", "--temperature", "3") != drawn


@pytest.mark.parametrize("args, message", [
    (["--temperature", "2"], "--temperature applies to --decode sample"),
    (["--decode", "beam"], "Invalid value for '--decode'"),
    (["--decode", "sample", "--temperature", "0"], "Invalid value for '--temperature'"),
])
def test_bad_sample_options_exit_2(text_run: Path, args: list[str], message: str) -> None:
    code, out = invoke("sample", "--run", str(text_run), *args)
    assert code == 2 and message in out, out


def test_a_toy_run_refuses_decoding_and_writes_points(tmp_path: Path) -> None:
    run = tmp_path / "toy"
    shutil.copytree(FIXTURES / "toy", run)
    code, out = invoke("sample", "--run", str(run), "--decode", "sample")
    assert code == 2 and "this run generates points" in out, out
    code, out = invoke("sample", "-n", "4", "--run", str(run), "--output", str(tmp_path / "points.txt"))
    assert code == 0 and "wrote 4 points" in out
    assert all(len(line.split()) == 2 for line in (tmp_path / "points.txt").read_text().splitlines())


def test_eval_shows_the_floor_beside_each_figure(text_run: Path) -> None:
    code, out = invoke("eval", "--run", str(text_run), "-n", "64", "--json")
    assert code == 0, out
    result = json.loads(out)
    floors = json.loads((text_run / "metrics.jsonl").read_text().splitlines()[0])
    for n in (1, 2, 3, 4):
        assert result[f"floor_js{n}"] == pytest.approx(floors[f"floor_js{n}"])  # the run's own floor
        assert result[f"floor_js{n}"] < result[f"js{n}"] or n == 4
    assert result["floor_samples"] == 32  # the run's evaluation size
    code, table = invoke("eval", "--run", str(text_run), "-n", "64")
    js1 = next(line for line in table.splitlines() if line.startswith("js1"))
    assert f"(floor {result['floor_js1']:.4f}: 32 held-out real samples)" in js1
    assert not any(line.startswith("floor_") for line in table.splitlines())


def test_toy_eval_has_floors_from_a_second_real_sample(tmp_path: Path) -> None:
    run = tmp_path / "toy"
    shutil.copytree(FIXTURES / "toy", run)
    code, out = invoke("eval", "--run", str(run), "-n", "300", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["floor_modes_covered"] == 8 and result["floor_high_quality"] > 0.9
    assert 0 < result["floor_w1"] < result["w1"] and result["floor_samples"] == 300


def test_train_help_shows_the_default_configs_values() -> None:
    code, out = invoke("train", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert ("--lr FLOAT RANGE Learning rate of both networks' optimizers (unless --critic-lr / --generator-lr set "
            "their own); given alone, it sets both. [cpu: 0.002]") in flat
    assert "[cpu: 4000]" in flat and "[cpu: 0.006]" in flat and "[cpu: 32]" in flat  # iterations, critic lr, dim
    for name in ("cpu", "paper", "8gaussians", "mnist", "cifar10-resnet-ln"):
        assert name in flat


@pytest.mark.parametrize("args", [["train", "--config", "papr"], ["train", "--preset", "huge"],
                                  ["train", "--lr", "-1"], ["sample", "--decode", "x"]])
def test_values_a_command_does_not_accept_exit_2(args: list[str], tmp_path: Path) -> None:
    code, out = invoke(*args, *(["--runs-root", str(tmp_path)] if args[0] == "train" else []))
    assert code == 2, out
    assert not any(tmp_path.iterdir())


def test_experiment_accepts_run_dir() -> None:
    code, out = invoke("experiment", "critic-surfaces", "--help")
    assert code == 0 and "--run, --run-dir" in out


def test_run_files_follow_the_umask(text_run: Path) -> None:
    import os

    mask = os.umask(0)
    os.umask(mask)
    step = sorted((text_run / "checkpoints").glob("step_*"))[-1]
    for path in (step / "weights.safetensors", step / "state.pt", step / "meta.json", text_run / "config.json"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


def test_sample_model_reads_an_export_like_its_run(text_run: Path, tmp_path: Path) -> None:
    code, out = invoke("export", str(tmp_path / "shared"), "--run", str(text_run))
    assert code == 0, out
    code, from_export = invoke("sample", "--model", str(tmp_path / "shared"), "-n", "5", "--seed", "2", "--device", "cpu")
    assert code == 0, from_export
    code, from_run = invoke("sample", "--run", str(text_run), "-n", "5", "--seed", "2", "--device", "cpu")
    assert from_export == from_run and len(from_run.splitlines()) == 5
    code, out = invoke("sample", "--model", str(tmp_path / "shared"), "--run", str(text_run))
    assert code == 2 and "give one of them" in out


def test_a_stop_between_evaluations_says_whose_figures_it_shows(tmp_path: Path) -> None:
    import torch.nn.functional as F

    from chargan import Callback, ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig
    from chargan.cli.main import closing_line

    class StopAtTwo(Callback):
        def on_iteration_end(self, trainer) -> None:
            if trainer.iteration == 2:
                trainer.stop_signal = "SIGINT"

    rows = torch.randint(0, 5, (64, 8))
    trainer = Trainer(ConvGenerator(5, seq_len=8, dim=8, latent_dim=4, n_blocks=1),
                      ConvCritic(5, seq_len=8, dim=8, n_blocks=1),
                      RowSampler(rows, transform=lambda ids: F.one_hot(ids, 5).float()),
                      TrainConfig(iterations=10, batch_size=8, critic_iters=1, eval_every=5, device="cpu"),
                      evaluate=lambda generator, iteration: {"score": float(iteration)}, progress=False,
                      callbacks=[StopAtTwo()])
    result = trainer.fit()
    assert (result.iteration, result.interrupted, result.evaluated_at) == (2, True, 0)
    assert closing_line(result) == "stopped at iteration 2: (last evaluation, at iteration 0: score=0.0000)"
    result.evaluated_at, result.iteration = 10, 10
    assert closing_line(result).startswith("stopped at iteration 10: score=")


def test_the_missing_billion_word_hint_is_short_lines_with_the_right_size(tmp_path: Path) -> None:
    code, out = invoke("train", "--corpus", "billion_word", "--data-dir", str(tmp_path / "bw"), "--no-download",
                       "--runs-root", str(tmp_path / "runs"))
    assert code == 1 and "1.8 GB" in out and "1.7 GB" not in out, out
    hint = out[out.index("hint:"):]
    assert all(len(line) <= 130 for line in hint.splitlines()), hint


def test_every_documented_exit_code_has_a_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's exit-code table, walked: each code it documents comes out of a command that should give it."""
    import re

    import chargan.cli.main as main

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("Exit codes:"):readme.index("### Corpora")]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.M)}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # what a second Ctrl-C raises inside training

    cases = {
        0: lambda: invoke("configs"),
        1: lambda: invoke("sample", "--run", str(tmp_path / "not-a-run")),
        2: lambda: invoke("train", "--config", "papr", "--runs-root", str(tmp_path)),
        3: lambda: invoke("train", "--lr", "1e12", "--iterations", "6", "--run", str(tmp_path / "diverges"), *TINY),
        130: lambda: (monkeypatch.setattr(main, "train_config", interrupted), invoke("train", "--runs-root", str(tmp_path)))[1],
    }
    assert documented == set(cases)
    for code, case in cases.items():
        got, out = case()
        assert got == code, (code, out)
        assert "Traceback" not in out
