"""``chargan export``: a language-model run as a Hugging Face `PyTorchModelHubMixin` folder, and back."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from huggingface_hub import ModelCard
from safetensors.torch import load_file, save_file

import chargan
from chargan.cli.export import export as export_command
from chargan.core.checkpoint import latest_checkpoint
from chargan.core.ema import AVERAGE
from chargan.corpora.units import load_vocabulary
from chargan.errors import UserError
from chargan.export import export_run, load_exported
from chargan.families import load_run
from chargan.families import sample as sample_run
from chargan.text.evaluation import generate_ids
from chargan.text.models import ConvGenerator

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0"
TINY = dict(dim=8, seq_len=16, batch_size=8, critic_iters=1, iterations=3, eval_every=2, checkpoint_every=2,
            log_every=1, eval_samples=32)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, _session_cache_dir: Path) -> Iterator[Path]:
    """One tiny language run for the module (training is the slow part)."""
    run = tmp_path_factory.mktemp("export-runs") / "tiny"
    with pytest.MonkeyPatch.context() as mp:  # the autouse cache fixture is per test: set it here too
        mp.setenv("CHARGAN_CACHE_DIR", str(_session_cache_dir))
        mp.delenv("CHARGAN_DATA_DIR", raising=False)
        chargan.families.train(chargan.get_preset("cpu").with_overrides(**TINY), run, progress=False,
                               echo=lambda _: None)
    yield run


@pytest.fixture(scope="module")
def exported(trained_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_run(trained_run, tmp_path_factory.mktemp("exports") / "tiny-model")


def checkpoint_generator_weights(run: Path, module: str) -> dict[str, torch.Tensor]:
    """The tensors of ``module`` (the generator, or its weight average) in the run's newest checkpoint file."""
    path = latest_checkpoint(run / "checkpoints")
    assert path is not None
    weights = load_file(str(path / "weights.safetensors"))
    return {k.removeprefix(f"{module}."): v for k, v in weights.items() if k.startswith(f"{module}.")}


def test_export_is_what_the_mixin_writes_plus_the_vocabulary(exported: Path, trained_run: Path,
                                                              tmp_path: Path) -> None:
    direct = tmp_path / "direct"
    load_run(trained_run, device="cpu").generator.save_pretrained(direct)  # type: ignore[operator]
    assert {p.name for p in exported.iterdir()} == {p.name for p in direct.iterdir()} | {"vocab.json"}
    assert {p.name for p in exported.iterdir()} == {"model.safetensors", "config.json", "vocab.json", "README.md"}
    assert (exported / "config.json").read_bytes() == (direct / "config.json").read_bytes()
    assert (exported / "model.safetensors").read_bytes() == (direct / "model.safetensors").read_bytes()
    assert (exported / "vocab.json").read_bytes() == (trained_run / "vocab.json").read_bytes()
    # The loaded generator writes the same config again: it survives a round trip unchanged.
    again = tmp_path / "again"
    ConvGenerator.from_pretrained(exported).save_pretrained(again)
    assert (again / "config.json").read_bytes() == (exported / "config.json").read_bytes()
    config = json.loads((exported / "config.json").read_text())
    assert config == {"vocab_size": len(load_vocabulary(trained_run / "vocab.json")), "seq_len": 16, "dim": 8,
                      "latent_dim": 128, "n_blocks": 3, "kernel_size": 5, "residual_scale": 0.3}


def test_from_pretrained_is_the_runs_checkpointed_generator(exported: Path, trained_run: Path) -> None:
    generator = ConvGenerator.from_pretrained(exported)
    expected = checkpoint_generator_weights(trained_run, AVERAGE)  # the cpu preset keeps a weight average
    assert expected and checkpoint_generator_weights(trained_run, "generator").keys() == expected.keys()
    state = generator.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in expected)
    assert not generator.training
    run_generator = load_run(trained_run, device="cpu").generator
    ids = generate_ids(generator, 64, seed=7)
    assert (ids == generate_ids(run_generator, 64, seed=7)).all()
    assert not (ids == generate_ids(ConvGenerator(**json.loads((exported / "config.json").read_text())), 64,
                                    seed=7)).all()  # an untrained generator of the same shape differs


def test_load_exported_gives_the_generator_and_vocabulary(exported: Path, trained_run: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    generator, vocab = load_exported(exported, device="cpu")
    assert capsys.readouterr().out == ""  # the mixin's "Loading weights" print would mix into `chargan sample`
    assert next(generator.parameters()).device.type == "cpu" and not generator.training
    lines = vocab.decode_batch(generate_ids(generator, 10, seed=3))
    assert lines == sample_run(trained_run, 10, seed=3, device="cpu")


def test_model_card_names_iterations_metrics_floor_and_samples(exported: Path, trained_run: Path) -> None:
    card = ModelCard.load(exported / "README.md")
    assert card.data.library_name == "chargan"
    assert {"pytorch_model_hub_mixin", "model_hub_mixin"} <= set(card.data.tags)
    records = [json.loads(line) for line in (trained_run / "metrics.jsonl").read_text().splitlines()]
    last = [r for r in records if "js4" in r][-1]
    assert last["iteration"] == 3
    text = card.text
    assert "iterations: 3" in text and "At iteration 3" in text
    for n in (1, 2, 3, 4):
        assert f"| js{n} | {last[f'js{n}']:.4f} | {records[0][f'floor_js{n}']:.4f} |" in text
    assert "demo corpus" in text and '"lines": 2104' in text  # the corpus record
    assert '"critic_iters": 1' in text  # the training config
    samples = "\n".join(sample_run(trained_run, 5, seed=0, device="cpu"))
    assert f"```text\n{samples}\n```" in text


def test_a_toy_run_is_refused(tmp_path: Path) -> None:
    toy = Path(shutil.copytree(FIXTURES / "toy", tmp_path / "toy"))
    with pytest.raises(UserError, match="export supports language-model runs; .* family 'toy'"):
        export_run(toy, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_non_empty_folder_is_refused_and_left_untouched(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="not empty; export does not overwrite"):
        export_run(trained_run, out)
    assert [p.name for p in out.iterdir()] == ["mine.txt"] and (out / "mine.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no temporary folder left beside it
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a folder"):
        export_run(trained_run, tmp_path / "file")


def test_an_empty_folder_is_filled(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    assert export_run(trained_run, out, samples=0) == out
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "vocab.json"]
    assert "## Samples" not in (out / "README.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


def test_a_failed_export_leaves_nothing(trained_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: ConvGenerator, directory: Path, **kwargs: object) -> None:
        (Path(directory) / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(ConvGenerator, "save_pretrained", broken)
    with pytest.raises(OSError, match="disk full"):
        export_run(trained_run, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_load_exported_refuses_a_partial_or_mismatched_folder(exported: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="is not a folder"):
        load_exported(tmp_path / "absent")
    partial = Path(shutil.copytree(exported, tmp_path / "partial"))
    (partial / "vocab.json").unlink()
    with pytest.raises(UserError, match="no vocab.json"):
        load_exported(partial)
    # A weight missing from the file: the mixin's default (strict=False) would keep its random initial value.
    cut = Path(shutil.copytree(exported, tmp_path / "cut"))
    weights = load_file(str(cut / "model.safetensors"))
    del weights["to_vocab.bias"]
    save_file(weights, str(cut / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(UserError, match="does not hold a loadable generator"):
        load_exported(cut)
    other = Path(shutil.copytree(exported, tmp_path / "other"))
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "vocab_size": config["vocab_size"] + 1}))
    with pytest.raises(UserError, match="does not hold a loadable generator"):
        load_exported(other)  # the weights' shapes no longer fit


def test_a_release_0_1_language_run_exports(tmp_path: Path) -> None:
    run = Path(shutil.copytree(FIXTURES / "text", tmp_path / "text"))
    out = export_run(run, tmp_path / "model", samples=3)
    generator, vocab = load_exported(out, device="cpu")
    assert vocab.decode_batch(generate_ids(generator, 3, seed=0)) == sample_run(run, 3, seed=0, device="cpu")
    assert "iterations: 4" in (out / "README.md").read_text()


def test_the_command_exports_the_latest_run(trained_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-model"
    result = CliRunner().invoke(export_command, ["--runs-root", str(trained_run.parent), "-n", "2", str(out)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "config.json, model.safetensors, vocab.json" in result.output
    assert ConvGenerator.from_pretrained(out).vocab_size == json.loads((out / "config.json").read_text())["vocab_size"]
    result = CliRunner().invoke(export_command, ["--run", str(trained_run), str(out)])
    assert isinstance(result.exception, UserError) and "not empty" in str(result.exception)


def test_the_command_module_imports_no_torch() -> None:
    code = "import sys, chargan.cli.export; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
