"""Run directories written by release 0.1.0 still sample, evaluate and resume.

The folders under ``fixtures/release-0.1.0/`` were trained by the released
package (see that folder's README.md for the commit and the exact commands):
4 generator iterations each, one checkpoint at iteration 4. Every test copies
its fixture into ``tmp_path`` first, so the fixtures are never changed, and
then drives today's command line against the copy.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from chargan.cli.main import cli

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0"
FAMILIES = ("text", "toy", "image")
#: Every fixture was trained for this many iterations and checkpointed there.
FIXTURE_ITERATION = 4
RESUMED_ITERATION = FIXTURE_ITERATION + 2
#: The text fixture's --seq-len, and the toy fixture's --eval-samples.
TEXT_SEQ_LEN = 8
TOY_EVAL_SAMPLES = 64
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tiny models on one thread (threads only cost here); no Inception weights from the environment."""
    import torch

    monkeypatch.delenv("CHARGAN_INCEPTION_WEIGHTS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def copy_run(family: str, tmp_path: Path) -> Path:
    source = FIXTURES / family
    assert (source / "config.json").is_file(), f"fixture {source} is missing"
    return Path(shutil.copytree(source, tmp_path / family))


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def write_mnist(data_dir: Path, n: int = 16, seed: int = 0) -> Path:
    """MNIST's two official training .gz files (idx format) of random pixels, as the image fixture was trained on."""

    def idx(array: np.ndarray) -> bytes:
        return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()

    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    folder = data_dir / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx(images)))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx(labels)))
    return folder


# ------------------------------------------------------------------ the fixtures themselves
@pytest.mark.parametrize("family", FAMILIES)
def test_fixture_is_the_release_run(family: str) -> None:
    """Guards the fixtures against being changed by a test or a careless edit."""
    run = FIXTURES / family
    assert json.loads((run / "config.json").read_text()).get("family", "text") == family
    assert (run / "checkpoints" / "latest").read_text().strip() == f"step_{FIXTURE_ITERATION:08d}"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["latest", f"step_{FIXTURE_ITERATION:08d}"]
    assert metrics(run)[-1]["iteration"] == FIXTURE_ITERATION


# ------------------------------------------------------------------ sample
def test_sample_text_run(tmp_path: Path) -> None:
    run = copy_run("text", tmp_path)
    code, out = invoke("sample", "-n", "3", "--run", str(run))
    assert code == 0, out
    lines = out.split("\n")
    assert len(lines) == 4 and lines[-1] == "", out  # exactly 3 lines, each newline-terminated
    assert all(len(line) <= TEXT_SEQ_LEN for line in lines)


def test_sample_toy_run(tmp_path: Path) -> None:
    run = copy_run("toy", tmp_path)
    code, out = invoke("sample", "-n", "3", "--run", str(run))
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 3, out
    for line in lines:
        x, y = (float(v) for v in line.split())  # exactly two numbers: "x y"
        assert math.isfinite(x) and math.isfinite(y)


def test_sample_image_run(tmp_path: Path) -> None:
    run = copy_run("image", tmp_path)
    code, out = invoke("sample", "-n", "3", "--run", str(run))
    assert code == 0, out
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wrote "), out
    path = Path(lines[0].removeprefix("wrote "))
    assert path.is_file() and path.read_bytes()[:8] == PNG
    assert path.parent == run / "samples"


# ------------------------------------------------------------------ eval
def eval_json(family: str, tmp_path: Path) -> dict:
    """``chargan eval --json`` of a copy of the family's fixture run, checked to be at the fixture's iteration."""
    code, out = invoke("eval", "--run", str(copy_run(family, tmp_path)), "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["iteration"] == FIXTURE_ITERATION
    return result


def test_eval_text_run(tmp_path: Path) -> None:
    result = eval_json("text", tmp_path)
    for key in ("js1", "js2", "js3", "js4"):
        assert isinstance(result[key], float) and 0.0 <= result[key] <= 1.0, (key, result[key])


def test_eval_toy_run(tmp_path: Path) -> None:
    result = eval_json("toy", tmp_path)
    assert result["dataset"] == "8gaussians" and result["samples"] == TOY_EVAL_SAMPLES
    assert isinstance(result["w1"], float) and math.isfinite(result["w1"]) and result["w1"] >= 0.0
    for key in ("modes_covered", "high_quality"):
        assert isinstance(result[key], float) and 0.0 <= result[key] <= 1.0, (key, result[key])


def test_eval_image_run_is_refused_clearly(tmp_path: Path) -> None:
    """Release 0.1.0 has no image evaluation in `chargan eval`: a usage error, no traceback."""
    run = copy_run("image", tmp_path)
    code, out = invoke("eval", "--run", str(run), "--json")
    assert code == 2, out
    assert "`chargan eval` does not handle image runs yet; see the run's metrics.jsonl" in out
    assert "Traceback" not in out


# ------------------------------------------------------------------ resume
@pytest.mark.parametrize("family", FAMILIES)
def test_resume_continues_the_release_run(family: str, tmp_path: Path) -> None:
    run = copy_run(family, tmp_path)
    before = metrics(run)
    assert before[-1]["iteration"] == FIXTURE_ITERATION
    args = ["train", "--resume", "--run", str(run), "--iterations", str(RESUMED_ITERATION), "--no-progress"]
    if family == "image":
        # The run's config.json names the (absolute) data folder of the machine that trained it: point
        # the resume at the same 16 images, regenerated here.
        data = write_mnist(tmp_path / "data")
        args += ["--data-dir", str(tmp_path / "data"), "--no-download"]
    code, out = invoke(*args)
    assert code == 0, out
    assert f"resumed at iteration {FIXTURE_ITERATION} of {RESUMED_ITERATION}" in out
    if family == "image":
        assert str(data) in out  # read the regenerated images, not the fixture's recorded folder

    # The newest checkpoint is at the new iteration.
    checkpoints = run / "checkpoints"
    steps = sorted(p.name for p in checkpoints.glob("step_*"))
    assert steps[-1] == f"step_{RESUMED_ITERATION:08d}"
    assert (checkpoints / "latest").read_text().strip() == steps[-1]
    assert json.loads((checkpoints / steps[-1] / "meta.json").read_text())["iteration"] == RESUMED_ITERATION

    # metrics.jsonl: the release's records kept as they were, then one record per new iteration.
    after = metrics(run)
    assert after[: len(before)] == before
    assert [r["iteration"] for r in after[len(before):]] == list(range(FIXTURE_ITERATION + 1, RESUMED_ITERATION + 1))
    trained = [r["iteration"] for r in after if r["iteration"] > 0]
    assert trained == sorted(set(trained)) == list(range(1, RESUMED_ITERATION + 1))  # strictly increasing

    if family != "image":  # the resumed run evaluates at its new iteration
        code, out = invoke("eval", "--run", str(run), "--json")
        assert code == 0, out
        assert json.loads(out)["iteration"] == RESUMED_ITERATION
