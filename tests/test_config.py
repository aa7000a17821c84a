"""Settings declared once: the flat names, flags, checks and resume guard all read from `setting(...)`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
import pytest

from chargan.cli.main import train as train_command
from chargan.core.config import TrainConfig
from chargan.errors import UserError
from chargan.families import FAMILIES
from chargan.text.config import PRESETS, LanguageGANConfig
from chargan.toy.config import TOY_CONFIGS

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "release-0.1.0"


def test_flat_names_follow_the_sections_and_eval_settings_are_prefixed() -> None:
    settings = LanguageGANConfig.settings()
    assert (settings["lambda_gp"].section, settings["lambda_gp"].field) == ("train", "lambda_gp")
    assert (settings["eval_seed"].section, settings["eval_seed"].field) == ("eval", "seed")
    assert (settings["seed"].section, settings["seed"].field) == ("train", "seed")
    assert (settings["beta2"].field, settings["beta2"].index) == ("betas", 1)
    assert "samples" not in settings and "orders" not in settings


def test_every_setting_flag_is_a_train_option_and_every_train_option_a_setting_or_a_command_option() -> None:
    options = {p.name: p for p in train_command.params if isinstance(p, click.Option)}
    command_own = {"config_name", "preset", "download", "run", "runs_root", "resume", "progress", "help"}
    flags = {name for family in FAMILIES.values() for name, s in family.Config.settings().items() if s.cli}
    assert set(options) - command_own == flags
    assert isinstance(options["lambda_gp"].type, click.FloatRange) and options["lambda_gp"].default is None
    assert list(options["objective"].type.choices) == ["wgan-gp", "wgan-lp", "wgan-clip", "gan", "lsgan"]
    assert "--trained-generator" in options["fixed_generator"].secondary_opts


def test_overrides_compose_and_unknown_names_are_refused() -> None:
    config = PRESETS["cpu"].with_overrides(betas=(0.1, 0.2), beta1=0.0, eval_seed=7, dim=None)
    assert config.train.betas == (0.0, 0.2) and config.eval.seed == 7 and config.model.dim == PRESETS["cpu"].model.dim
    with pytest.raises(UserError, match="seq-len is not a setting of the toy configs"):
        TOY_CONFIGS["8gaussians"].with_overrides(seq_len=16)


@pytest.mark.parametrize("changes, message", [
    ({"lr": -1.0}, "lr must be a positive number, got -1.0"),
    ({"lr": float("nan")}, "lr must be a positive number"),
    ({"critic_iters": 0}, "critic-iters must be a positive integer, got 0"),
    ({"lambda_gp": float("inf")}, "lambda-gp must be a non-negative number"),
    ({"objective": "wgan"}, "objective must be one of wgan-gp, wgan-lp, wgan-clip, gan, lsgan, got 'wgan'"),
    ({"betas": (0.5, 1.0)}, r"beta2 must be a number in \[0, 1\), got 1.0"),
    ({"betas": (0.5,)}, "betas must be 2 values"),
    ({"batch_size": True}, "batch-size must be a positive integer, got True"),
])
def test_each_field_is_checked_against_its_declaration(changes: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        TrainConfig(**changes).validate()


def test_guard_leaves_out_exactly_the_resumable_fields() -> None:
    guard = PRESETS["cpu"].guard()
    assert set(guard) == {"model", "data", "train", "eval"}
    free = {"iterations", "device", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints", "precision",
            "fused_optimizer", "compile", "cuda_graphs", "tensorboard", "threads"}
    # Recipes added after release 0.1 are guarded only once set (a release-0.1 checkpoint names none of them).
    recipes = {"critic_lr", "generator_lr", "ema_decay", "ema_warmup", "real_smoothing", "real_noise",
               "noise_anneal_iterations"}
    assert set(asdict(TrainConfig())) - set(TrainConfig().guard()) == free | recipes
    assert guard["train"]["ema_decay"] == 0.999 and guard["train"]["ema_warmup"]  # the cpu preset sets them
    assert "data_dir" not in guard["data"] and "corpus" in guard["data"]
    tuned = TrainConfig(critic_lr=3e-4, ema_decay=0.999).guard()
    assert tuned["critic_lr"] == 3e-4 and tuned["ema_decay"] == 0.999 and "generator_lr" not in tuned


@pytest.mark.parametrize("family", ["text", "toy", "image"])
def test_a_release_0_1_run_has_the_guard_this_release_computes(family: str) -> None:
    """A run written by release 0.1 resumes only if its checkpoint's guard equals today's, key for key."""
    root = FIXTURES / family
    saved = json.loads((root / "checkpoints" / "step_00000004" / "meta.json").read_text())["guard"]
    config = json.loads((root / "config.json").read_text())
    current = FAMILIES[family].Config.from_dict(config).guard()
    assert json.loads(json.dumps(current)) == saved


def test_config_json_leaves_out_settings_that_do_not_apply_and_round_trips() -> None:
    char = PRESETS["cpu"]
    saved = json.loads(json.dumps(char.to_dict()))
    assert "vocab_size" not in saved["data"] and "source" not in saved["data"] and "split" not in saved["data"]
    assert "chars" not in saved["eval"] and saved["data"]["max_vocab"] == 2048 and saved["data"]["units"] == "char"
    assert LanguageGANConfig.from_dict(saved) == char
    subword = char.with_overrides(units="subword", corpus="billion_word", source="hf")
    saved = subword.to_dict()
    assert "max_vocab" not in saved["data"] and saved["data"]["vocab_size"] == 8000 and saved["data"]["source"] == "hf"
    assert LanguageGANConfig.from_dict(json.loads(json.dumps(saved))) == subword
    # A value that does not apply but is not the default (set from Python) is kept: the round trip stays exact.
    odd = char.with_overrides(vocab_size=4000)
    assert odd.to_dict()["data"]["vocab_size"] == 4000 and LanguageGANConfig.from_dict(odd.to_dict()) == odd
    trained = TOY_CONFIGS["8gaussians"]
    assert "noise_std" not in trained.to_dict()["data"]
    assert "noise_std" in trained.with_overrides(fixed_generator=True).to_dict()["data"]


@pytest.mark.parametrize("args, message", [
    (["--vocab-size", "100"], "--vocab-size does not apply to this run: it is for --units subword"),
    (["--units", "subword", "--max-vocab", "64"], "--max-vocab does not apply to this run: it is for --units char"),
    (["--source", "hf"], "--source does not apply to this run: it is for --corpus billion_word"),
    (["--config", "8gaussians", "--noise-std", "0.5"], "--noise-std does not apply to this run: it is for --fixed-generator"),
])
def test_a_flag_that_would_change_nothing_is_refused(args: list[str], message: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from chargan.cli.main import cli

    result = CliRunner().invoke(cli, ["train", *args, "--runs-root", str(tmp_path / "runs")], catch_exceptions=False)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "runs").exists()
