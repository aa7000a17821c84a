"""``chargan runs``: the runs under a folder, their states, figures and order, as a table and as JSON.

The runs are copies of the release-0.1 fixture runs (tests/fixtures/release-0.1.0/: text, toy and image,
each with a checkpoint at its target of 4), edited into each state; modification times are set by hand
so the order and the "training" guess do not depend on how fast the test runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from chargan.cli.group import CleanErrorGroup
from chargan.cli.runs import runs
from chargan.runs import RECENT_SECONDS, list_runs, summarize_run

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0"
TEXT_FLOOR_JS4 = 0.7439261951461512  # the fixture text run's reference record
TOY_LAST_W1 = 1.3095562646976346  # the fixture toy run's last evaluation


def make_run(root: Path, fixture: str, name: str, age: float, target: int | None = None,
             extra_records: list[dict[str, Any]] | None = None) -> Path:
    """A copy of a fixture run as ``root/name``, last changed ``age`` seconds ago, with a new target and records."""
    run = root / name
    shutil.copytree(FIXTURES / fixture, run)
    if target is not None:
        config = json.loads((run / "config.json").read_text())
        config["train"]["iterations"] = target
        (run / "config.json").write_text(json.dumps(config))
    with (run / "metrics.jsonl").open("a") as f:
        for record in extra_records or []:
            f.write(json.dumps(record) + "\n")
    set_age(run, age)
    return run


def set_age(run: Path, age: float) -> None:
    """Every file `list_runs` watches (and the folder) last changed ``age`` seconds ago."""
    stamp = time.time() - age
    for path in (run / "config.json", run / "metrics.jsonl", run / "checkpoints" / "latest", run):
        if path.exists():
            os.utime(path, (stamp, stamp))


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    """One run in each state, ages distinct so that the newest-first order is known."""
    root = tmp_path / "runs"
    root.mkdir()
    make_run(root, "text", "training-text", age=10, target=10,
             extra_records=[{"iteration": 5, "critic_loss": 3.5, "generator_loss": 0.05, "js4": 0.98}])
    make_run(root, "toy", "diverged-toy", age=20, target=10,
             extra_records=[{"iteration": 5, "critic_loss": None, "generator_loss": None, "wasserstein": None}])
    make_run(root, "toy", "finished-toy", age=3600)
    make_run(root, "text", "stopped-text", age=7200, target=10)
    make_run(root, "image", "finished-image", age=9000)
    broken = root / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{ not json")
    set_age(broken, 10000)
    empty = root / "empty"
    empty.mkdir()
    set_age(empty, 11000)
    return root


def by_name(root: Path) -> dict[str, Any]:
    return {s.name: s for s in list_runs(root)}


def test_each_run_gets_its_state_newest_first(runs_root: Path) -> None:
    summaries = list_runs(runs_root)
    assert [s.name for s in summaries] == ["training-text", "diverged-toy", "finished-toy", "stopped-text",
                                           "finished-image", "broken", "empty"]
    assert {s.name: s.state for s in summaries} == {
        "training-text": "training", "diverged-toy": "diverged", "finished-toy": "finished",
        "stopped-text": "stopped", "finished-image": "finished", "broken": "broken", "empty": "empty"}
    ages = [time.time() - s.last_change for s in summaries]
    assert ages == sorted(ages) and abs(ages[0] - 10) < 5


def test_iterations_targets_and_the_headline_metric(runs_root: Path) -> None:
    runs_ = by_name(runs_root)
    stopped = runs_["stopped-text"]
    # A release-0.1 text run names no family: text, config by its "preset".
    assert (stopped.family, stopped.config, stopped.headline) == ("text", "cpu", "js4")
    assert (stopped.checkpoint_iteration, stopped.logged_iteration, stopped.target) == (4, 4, 10)
    assert stopped.headline_value == 1.0 and stopped.headline_floor == TEXT_FLOOR_JS4
    training = runs_["training-text"]
    assert (training.checkpoint_iteration, training.logged_iteration, training.target) == (4, 5, 10)
    assert training.headline_value == 0.98  # the last record holding js4, not the last evaluation at a checkpoint
    toy = runs_["finished-toy"]
    assert (toy.family, toy.config, toy.headline, toy.headline_value, toy.headline_floor) == (
        "toy", "8gaussians", "w1", TOY_LAST_W1, None)
    assert (toy.checkpoint_iteration, toy.target) == (4, 4)
    image = runs_["finished-image"]
    # Without Inception weights an image run logs no FID: the headline is named, its value absent.
    assert (image.family, image.config, image.headline, image.headline_value) == ("image", "mnist", "fid", None)


def test_training_is_a_recent_change_below_the_target(tmp_path: Path) -> None:
    run = make_run(tmp_path, "text", "run", age=0, target=10)
    changed = summarize_run(run).last_change
    assert summarize_run(run, now=changed + RECENT_SECONDS / 2).state == "training"
    assert summarize_run(run, now=changed + RECENT_SECONDS * 2).state == "stopped"
    # A finished run is finished however recently it was written.
    finished = make_run(tmp_path, "text", "done", age=0)
    assert summarize_run(finished, now=summarize_run(finished).last_change + 1).state == "finished"


def test_touching_the_metrics_of_a_stopped_run_makes_it_training(tmp_path: Path) -> None:
    run = make_run(tmp_path, "toy", "run", age=3600, target=10)
    assert summarize_run(run).state == "stopped"
    os.utime(run / "metrics.jsonl")  # now
    assert summarize_run(run).state == "training"


@pytest.mark.parametrize("last", ['{"iteration": 5, "critic_loss": NaN, "generator_loss": 1.0}',
                                  '{"iteration": 5, "critic_loss": 1.0, "generator_loss": null}'])
def test_a_null_or_nan_loss_in_the_last_logged_losses_is_diverged(tmp_path: Path, last: str) -> None:
    run = make_run(tmp_path, "toy", "run", age=3600)
    assert summarize_run(run).state == "finished"
    with (run / "metrics.jsonl").open("a") as f:
        f.write(last + "\n" + '{"iteration": 5, "w1": 2.0}\n')  # an evaluation record after it holds no losses
    assert summarize_run(run).state == "diverged"


def test_a_healthy_record_after_a_nan_one_is_not_diverged(tmp_path: Path) -> None:
    run = make_run(tmp_path, "toy", "run", age=3600, extra_records=[
        {"iteration": 5, "critic_loss": None, "generator_loss": 1.0},
        {"iteration": 6, "critic_loss": 1.0, "generator_loss": 1.0}])
    assert summarize_run(run).state == "finished"


@pytest.mark.parametrize("setup, problem", [
    (lambda run: (run / "config.json").write_text("[1, 2]"), "not a JSON object"),
    (lambda run: (run / "config.json").write_text('{"family": "sound"}'), "'sound' is unknown"),
    (lambda run: (run / "config.json").unlink(), "no config.json beside"),
    (lambda run: (run / "config.json").write_bytes(b"\xff\xfe"), "corrupt"),
])
def test_a_folder_without_a_usable_config_is_broken_not_an_error(tmp_path: Path, setup: Any, problem: str) -> None:
    run = make_run(tmp_path, "toy", "run", age=60)
    setup(run)
    summary = summarize_run(run)
    assert summary.state == "broken" and problem in (summary.problem or "")


def test_hidden_folders_and_files_are_not_runs(tmp_path: Path) -> None:
    (tmp_path / ".cache").mkdir()
    (tmp_path / "notes.txt").write_text("hello")
    make_run(tmp_path, "toy", "run", age=60)
    assert [s.name for s in list_runs(tmp_path)] == ["run"]


def cli_group() -> click.Group:
    """``chargan`` with the runs command: main does not register it yet; the group class turns errors into lines."""
    group = CleanErrorGroup(name="chargan")
    group.add_command(runs)
    return group


def test_the_command_prints_an_aligned_table_newest_first(runs_root: Path) -> None:
    result = CliRunner().invoke(cli_group(), ["runs", "--runs-root", str(runs_root)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = lines[0]
    assert header.split() == ["NAME", "FAMILY/CONFIG", "CHECKPOINT", "LOGGED", "HEADLINE", "FLOOR", "LAST",
                              "CHANGE", "STATE"]
    rows = lines[1:8]
    assert [row.split()[0] for row in rows] == ["training-text", "diverged-toy", "finished-toy", "stopped-text",
                                                "finished-image", "broken", "empty"]
    state_at, headline_at = header.index("STATE"), header.index("HEADLINE")
    assert [row[state_at:] for row in rows] == ["training", "diverged", "finished", "stopped", "finished",
                                                "broken", "empty"]
    stopped = rows[3].split()
    assert stopped[1:6] == ["text/cpu", "4/10", "4", "js4=1", "0.7439"]
    assert rows[0].split()[1:5] == ["text/cpu", "4/10", "5", "js4=0.98"]
    assert rows[4][headline_at:].split()[:2] == ["fid=-", "-"]
    assert rows[2].split()[1:6] == ["toy/8gaussians", "4/4", "4", "w1=1.31", "-"]
    # Below the table: why the broken folder is broken (the empty one's state says it all).
    assert lines[8:] == [f"  broken: {runs_root / 'broken' / 'config.json'} is corrupt: "
                         "Expecting property name enclosed in double quotes: line 1 column 3 (char 2)"]


def test_the_command_prints_json(runs_root: Path) -> None:
    result = CliRunner().invoke(cli_group(), ["runs", "--runs-root", str(runs_root), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [r["name"] for r in listed][:2] == ["training-text", "diverged-toy"]
    assert set(listed[0]) == {"name", "path", "state", "family", "config", "checkpoint_iteration",
                              "logged_iteration", "target", "headline", "headline_value", "headline_floor",
                              "last_change", "problem"}
    stopped = next(r for r in listed if r["name"] == "stopped-text")
    assert {k: stopped[k] for k in ("state", "family", "config", "checkpoint_iteration", "logged_iteration",
                                    "target", "headline", "headline_value", "headline_floor", "problem")} == {
        "state": "stopped", "family": "text", "config": "cpu", "checkpoint_iteration": 4, "logged_iteration": 4,
        "target": 10, "headline": "js4", "headline_value": 1.0, "headline_floor": TEXT_FLOOR_JS4, "problem": None}
    # ISO 8601 with the local offset, the same instant as the file's modification time.
    stamp = datetime.fromisoformat(stopped["last_change"])
    assert stamp.tzinfo is not None
    assert abs(stamp.timestamp() - (runs_root / "stopped-text" / "config.json").stat().st_mtime) < 1
    assert next(r for r in listed if r["name"] == "broken")["problem"].endswith("(char 2)")


def test_a_missing_runs_root_is_one_error_line_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_group(), ["runs", "--runs-root", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: runs folder {tmp_path / 'nowhere'} does not exist\n  hint: ")
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)  # click's exit, no crash


def test_an_empty_runs_root_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_group(), ["runs", "--runs-root", str(tmp_path)])
    assert result.exit_code == 0 and result.output.startswith(f"no runs under {tmp_path}")
    result = CliRunner().invoke(cli_group(), ["runs", "--runs-root", str(tmp_path), "--json"])
    assert json.loads(result.output) == []


def test_each_family_names_its_headline_once() -> None:
    import chargan.image as image
    import chargan.text as text
    import chargan.toy as toy
    from chargan.core.family import Family
    from chargan.image.evaluation import ImageEvaluator
    from chargan.text.evaluation import TextEvaluator
    from chargan.toy.evaluation import ToyEvaluator

    assert (text.HEADLINE, toy.HEADLINE, image.HEADLINE) == ("js4", "w1", "fid")
    assert TextEvaluator.headline == text.HEADLINE and ToyEvaluator.headline == toy.HEADLINE
    config = image.CONFIGS["mnist"].eval
    assert ImageEvaluator(config, None, metrics=object()).headline == "fid"  # type: ignore[arg-type]
    assert ImageEvaluator(config, None).headline is None  # type: ignore[arg-type]
    assert all("HEADLINE" in family.__all__ for family in (text, toy, image))
    assert "HEADLINE" in Family.__annotations__


def test_listing_runs_imports_no_torch() -> None:
    # `chargan --help` imports every command module: the runs command must stay as light as the others.
    code = "import sys, chargan.cli.runs; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
