"""The paper's experiments at tiny sizes: each writes its figures and table, and the figures say something."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chargan.cli.main import cli
from chargan.experiments import critic_surfaces, gradient_norms, language_objectives


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only cost


def read_table(folder: Path, name: str) -> dict:
    assert (folder / f"{name}.md").read_text().startswith("# ")
    return json.loads((folder / f"{name}.json").read_text())


def test_critic_surfaces_writes_one_panel_per_dataset_and_constraint(tmp_path: Path) -> None:
    result = critic_surfaces(tmp_path, steps=3, dim=16, batch_size=32, points=50, device="cpu", echo=lambda _: None)
    assert (tmp_path / "critic_surfaces.png").stat().st_size > 20_000
    rows = read_table(tmp_path, "critic_surfaces")["rows"]
    assert rows == json.loads(json.dumps(result["rows"]))
    assert [(r["dataset"], r["critic"].split(" (")[0]) for r in rows] == [
        (d, c) for c in ("weight clipping", "gradient penalty") for d in ("8gaussians", "25gaussians", "swissroll")]
    for row in rows:
        assert all(isinstance(row[k], float) for k in ("w_estimate", "grad_real", "grad_fake"))


def test_gradient_norms_vanish_with_tight_clipping_but_not_with_the_penalty(tmp_path: Path) -> None:
    result = gradient_norms(tmp_path, steps=6, depth=6, dim=32, batch_size=32, device="cpu", echo=lambda _: None)
    for name in ("gradient_norms.png", "weight_histograms.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    table = read_table(tmp_path, "gradient_norms")
    assert [r["critic"] for r in table["rows"]] == [
        "weight clipping (c=0.1)", "weight clipping (c=0.01)", "weight clipping (c=0.001)", "gradient penalty (lambda=0.1)"]
    assert all(len(norms) == 6 for norms in table["per_layer"].values())
    norms = result["per_layer"]
    # Clipped weights shrink the signal at every layer: the tighter the clip, the smaller every layer's gradient,
    # by orders of magnitude, while the penalized critic's gradients stay near 1.
    assert max(norms["weight clipping (c=0.001)"]) < 1e-6 * min(norms["gradient penalty (lambda=0.1)"])
    assert max(norms["weight clipping (c=0.001)"]) < min(norms["weight clipping (c=0.01)"])
    assert max(norms["weight clipping (c=0.01)"]) < min(norms["weight clipping (c=0.1)"])
    assert 0.01 < min(norms["gradient penalty (lambda=0.1)"]) and max(norms["gradient penalty (lambda=0.1)"]) < 100
    at_bound = {r["critic"]: r["weights_at_bound"] for r in result["rows"]}
    assert at_bound["weight clipping (c=0.001)"] > 0.9  # clipping piles the weights up at +-c


def test_language_objectives_tables_every_objective(tmp_path: Path) -> None:
    tiny = dict(iterations=2, dim=8, seq_len=16, batch_size=8, critic_iters=1, eval_every=1, eval_samples=32,
                checkpoint_every=2, log_every=1, device="cpu")
    result = language_objectives(tmp_path, n_samples=3, echo=lambda _: None, **tiny)
    table = read_table(tmp_path, "language_objectives")
    assert [r["objective"] for r in table["rows"]] == ["gan", "wgan-clip", "wgan-gp", "floor (held-out real text)"]
    for row in table["rows"]:
        assert all(0 <= row[f"js{n}"] <= 1 for n in (1, 2, 3, 4))
    assert set(table["samples"]) == {"gan", "wgan-clip", "wgan-gp"} and all(len(s) == 3 for s in table["samples"].values())
    assert json.loads((tmp_path / "wgan-clip" / "config.json").read_text())["train"]["optimizer"] == "rmsprop"
    assert "## Samples: wgan-gp" in (tmp_path / "language_objectives.md").read_text()
    assert (tmp_path / "language_objectives.png").is_file() and result["figure"].endswith(".png")


def test_experiment_commands_are_wired(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["experiment", "gradient-norms", "--run", str(tmp_path / "g"), "--steps", "1",
                                 "--depth", "3", "--device", "cpu"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g" / "gradient_norms.md").is_file()
    for command in ("critic-surfaces", "gradient-norms", "language-objectives"):
        help_text = runner.invoke(cli, ["experiment", command, "--help"]).output
        assert "--quick" in help_text and "--run" in help_text
