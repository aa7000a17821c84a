"""The progress bar on a terminal, plain periodic lines without one, and nothing extra with --no-progress."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from tqdm.auto import tqdm

from chargan import ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig
from chargan.cli.main import cli
from chargan.core.progress import ProgressBar, _duration, progress_echo

VOCAB, LENGTH = 5, 8
PLAIN = re.compile(r"^iteration (\d+)/(\d+)  ")


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal, and keeps what tqdm draws on it."""

    def isatty(self) -> bool:
        return True


def headline_evaluator(generator: torch.nn.Module, iteration: int) -> dict[str, float]:
    return {"js4": 0.5 + iteration / 1000}


headline_evaluator.headline = "js4"  # type: ignore[attr-defined]


def make_trainer(progress: bool, **changes: int) -> Trainer:
    """A tiny trainer whose echo is the default (tqdm.write, to stdout), as `chargan train` has with a bar."""
    torch.manual_seed(0)
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(VOCAB, LENGTH, dim=8, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=0, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    values = dict(iterations=20, batch_size=8, critic_iters=1, device="cpu", log_every=1, eval_every=5)
    config = TrainConfig(**{**values, **changes})
    return Trainer(generator, critic, data, config, evaluate=headline_evaluator, progress=progress)


def plain_iterations(text: str) -> list[int]:
    return [int(m.group(1)) for line in text.splitlines() if (m := PLAIN.match(line))]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"iterations": 20, "log_every": 1}, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]),  # a tenth of the run
    ({"iterations": 25, "log_every": 1}, [3, 6, 9, 12, 15, 18, 21, 24, 25]),  # ... and the last iteration
    ({"iterations": 10, "log_every": 3}, [3, 5, 6, 9, 10]),  # records rarer than a tenth: every record
])
def test_without_a_terminal_plain_lines_replace_the_bar(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, changes: dict[str, int], expected: list[int]
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    make_trainer(progress=True, **changes).fit()
    out = capsys.readouterr().out
    assert "\r" not in out and "\r" not in stderr.getvalue()
    assert stderr.getvalue() == ""  # no bar at all
    assert plain_iterations(out) == expected
    last = [line for line in out.splitlines() if PLAIN.match(line)][-1]
    target = changes["iterations"]
    assert re.fullmatch(rf"iteration {target}/{target}  critic_loss=-?\d+\.\d{{3}}  generator_loss=-?\d+\.\d{{3}}  "
                        rf"wasserstein=-?\d+\.\d{{3}}  js4=\d\.\d{{4}}  \d+\.\d (it/s|s/it)  eta 0s", last), last
    # The evaluations' own lines stay.
    assert any(line.startswith("iteration 5: ") and "js4=0.5050" in line for line in out.splitlines())


def test_a_terminal_still_gets_the_tqdm_bar(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    make_trainer(progress=True).fit()
    drawn = terminal.getvalue()
    assert "\r" in drawn and "it/s" in drawn and "20/20" in drawn
    out = capsys.readouterr().out
    assert plain_iterations(out) == []
    assert any(line.startswith("iteration 5: ") for line in out.splitlines())


def test_no_progress_keeps_only_the_evaluation_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for stderr in (io.StringIO(), FakeTerminal()):
        monkeypatch.setattr(sys, "stderr", stderr)
        make_trainer(progress=False).fit()
        out = capsys.readouterr().out
        assert stderr.getvalue() == "" and plain_iterations(out) == []
        assert [line.split(":")[0] for line in out.splitlines()] == [f"iteration {i}" for i in (0, 5, 10, 15, 20)]


def test_progress_echo_prints_above_a_bar_and_plainly_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[str] = []
    monkeypatch.setattr(sys, "stderr", FakeTerminal())
    assert progress_echo(True, printed.append) == tqdm.write
    assert progress_echo(False, printed.append) == printed.append
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_echo(True, printed.append) == printed.append


def test_a_resumed_run_continues_from_the_next_tenth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    printed: list[str] = []
    trainer = SimpleNamespace(progress=True, iteration=55, config=SimpleNamespace(iterations=100), echo=printed.append,
                              evaluate=None, objective=SimpleNamespace(estimate="wasserstein"))
    bar = ProgressBar()
    bar.on_fit_start(trainer)
    assert bar.bar is None
    for it in (56, 59, 60, 65, 71, 100):
        bar.on_log(trainer, {"iteration": it, "critic_loss": -1.0, "generator_loss": 1.0, "wasserstein": 2.0})
    assert plain_iterations("\n".join(printed)) == [60, 71, 100]


@pytest.mark.parametrize(("seconds", "shown"), [(0.4, "0s"), (45, "45s"), (149, "2m29s"), (3723, "1h02m03s")])
def test_durations_are_short(seconds: float, shown: str) -> None:
    assert _duration(seconds) == shown


def test_chargan_train_into_a_file_writes_short_lines_without_carriage_returns(tmp_path: Path) -> None:
    # CliRunner's stdout and stderr are not terminals, like `chargan train > log.txt 2>&1`.
    tiny = ["--dim", "8", "--seq-len", "16", "--batch-size", "8", "--critic-iters", "1", "--eval-every", "5",
            "--checkpoint-every", "5", "--log-every", "1", "--eval-samples", "32"]
    result = CliRunner().invoke(cli, ["train", "--iterations", "10", "--run", str(tmp_path / "run"), *tiny],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "\r" not in result.output
    assert all(len(line) < 200 for line in result.output.splitlines()), result.output
    assert plain_iterations(result.output) == list(range(1, 11))
