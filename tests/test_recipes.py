"""The training recipes of issue 12: separate learning rates, the generator's weight average, real smoothing.

Each recipe is a setting of every family (`TrainConfig`), recorded in config.json and tested to do what it says.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from safetensors.torch import load_file

import chargan
from chargan import ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig
from chargan.cli.main import cli
from chargan.core.checkpoint import latest_checkpoint
from chargan.core.ema import AVERAGE, GeneratorAverage, average_decay
from chargan.core.smoothing import annealed_sigma, noisy_rows, smooth_one_hots
from chargan.errors import UserError
from chargan.families import load_run
from chargan.families import sample as sample_run
from chargan.text.config import PRESETS
from chargan.toy.config import get_toy_config

VOCAB, LENGTH = 5, 8
#: A language run small enough to train in seconds (as tests/test_export.py's).
TINY = dict(dim=8, seq_len=16, batch_size=8, critic_iters=1, iterations=3, eval_every=2, checkpoint_every=2,
            log_every=1, eval_samples=32, device="cpu")


def make_trainer(run: RunDirectory | None, config: TrainConfig, evaluate=None) -> Trainer:
    torch.manual_seed(0)
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(VOCAB, LENGTH, dim=8, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=config.seed, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    return Trainer(generator, critic, data, config, run=run, evaluate=evaluate, progress=False)


def base_config(**changes) -> TrainConfig:
    values = dict(iterations=6, batch_size=8, critic_iters=2, device="cpu", log_every=2, eval_every=3,
                  checkpoint_every=2)
    return TrainConfig(**{**values, **changes})


def average_of(trainer: Trainer) -> GeneratorAverage:
    return next(c for c in trainer.callbacks if isinstance(c, GeneratorAverage))


# ---------------------------------------------------------------------------------------- learning rates
def test_each_learning_rate_reaches_its_optimizer() -> None:
    trainer = make_trainer(None, base_config(critic_lr=3e-4, generator_lr=1e-4))
    assert {g["lr"] for g in trainer.critic_optimizer.param_groups} == {3e-4}
    assert {g["lr"] for g in trainer.generator_optimizer.param_groups} == {1e-4}
    plain = make_trainer(None, base_config(lr=2e-3))  # None: both follow --lr
    assert {g["lr"] for o in (plain.critic_optimizer, plain.generator_optimizer) for g in o.param_groups} == {2e-3}


def test_linear_decay_scales_each_rate() -> None:
    trainer = make_trainer(None, base_config(critic_lr=4e-4, generator_lr=1e-4, lr_decay="linear", iterations=4,
                                             critic_iters=1))
    trainer.train_iteration()
    trainer.train_iteration()  # iteration 1 of 4 set the rates: 3/4 of each
    assert trainer.critic_optimizer.param_groups[0]["lr"] == pytest.approx(3e-4)
    assert trainer.generator_optimizer.param_groups[0]["lr"] == pytest.approx(0.75e-4)


def test_lr_alone_sets_both_rates_and_the_config_round_trips() -> None:
    ttur = PRESETS["paper-ttur"]
    train = ttur.train
    assert (train.critic_learning_rate, train.generator_learning_rate, train.critic_iters) == (3e-4, 1e-4, 1)
    both = ttur.with_overrides(lr=2e-4)
    assert (both.train.critic_learning_rate, both.train.generator_learning_rate) == (2e-4, 2e-4)
    one = ttur.with_overrides(lr=2e-4, critic_lr=5e-4)
    assert (one.train.critic_learning_rate, one.train.generator_learning_rate) == (5e-4, 2e-4)
    saved = json.loads(json.dumps(ttur.to_dict()))
    assert saved["train"]["critic_lr"] == 3e-4 and saved["train"]["generator_lr"] == 1e-4
    assert type(ttur).from_dict(saved) == ttur


# ------------------------------------------------------------------------------------------ weight average
def closed_form(weights: list[torch.Tensor], decays: list[float]) -> torch.Tensor:
    """``w_0`` and k updates of decays ``d_0 .. d_{k-1}``: prod(d) w_0 + sum_i (1 - d_{i-1}) prod_{j >= i} d_j w_i."""
    k = len(decays)
    total = np.prod(decays) * weights[0].double()
    for i in range(1, k + 1):
        total += (1 - decays[i - 1]) * np.prod(decays[i:]) * weights[i].double()
    return total


@pytest.mark.parametrize("warmup, decay", [(False, 0.9), (True, 0.9), (True, 0.3)])
def test_the_average_is_its_closed_form(warmup: bool, decay: float) -> None:
    torch.manual_seed(0)
    generator = torch.nn.Linear(3, 4)
    history = [torch.cat([p.detach().flatten().clone() for p in generator.parameters()])]
    average = GeneratorAverage(generator, decay=decay, warmup=warmup)
    k = 7
    for _ in range(k):
        with torch.no_grad():
            for p in generator.parameters():
                p.add_(torch.randn_like(p))
        history.append(torch.cat([p.detach().flatten().clone() for p in generator.parameters()]))
        average.update()
    decays = [average_decay(decay, n, warmup) for n in range(k)]
    if warmup:
        assert decays[:3] == pytest.approx([0.1, 2 / 11, 3 / 12])  # (1 + n) / (10 + n) below either decay
    if warmup and decay == 0.3:  # the min() takes the decay once the warm-up passes it: 4 / 13 > 0.3 from n = 3
        assert decays[3:] == [0.3] * (k - 3)
    elif warmup:
        assert all(d < 0.9 for d in decays)
    else:
        assert decays == [0.9] * k
    got = torch.cat([p.flatten() for p in average.average.parameters()]).double()
    assert torch.allclose(got, closed_form(history, decays), atol=1e-6)


def test_the_average_resumes_bit_for_bit(tmp_path: Path) -> None:
    recipe = dict(ema_decay=0.9, ema_warmup=True)
    straight = make_trainer(None, base_config(**recipe))
    straight.fit()

    run = RunDirectory(tmp_path / "run")
    make_trainer(run, base_config(iterations=4, **recipe)).fit()
    saved = load_file(str(latest_checkpoint(run.checkpoints_dir) / "weights.safetensors"))
    assert any(k.startswith(AVERAGE + ".") for k in saved) and any(k.startswith("generator.") for k in saved)
    second = make_trainer(run, base_config(**recipe))
    assert second.resume() and average_of(second).updates == 4
    second.fit()
    expected, resumed = average_of(straight).average.state_dict(), average_of(second).average.state_dict()
    assert expected.keys() == resumed.keys() and all(torch.equal(expected[k], resumed[k]) for k in expected)


def test_evaluation_sees_the_average_and_logs_the_raw_headline(tmp_path: Path) -> None:
    def evaluate(generator, iteration):
        return {"score": float(sum(p.sum() for p in generator.parameters()))}

    evaluate.headline = "score"
    run = RunDirectory(tmp_path / "run")
    trainer = make_trainer(run, base_config(ema_decay=0.5), evaluate=evaluate)
    trainer.fit()
    last = [r for r in run.read_metrics() if "score" in r][-1]
    average = average_of(trainer).average
    assert last["score"] == pytest.approx(float(sum(p.sum() for p in average.parameters())))
    assert last["score_raw"] == pytest.approx(float(sum(p.detach().sum() for p in trainer.generator.parameters())))
    assert last["score"] != last["score_raw"]


@pytest.fixture(scope="module")
def averaged_run(tmp_path_factory: pytest.TempPathFactory, _session_cache_dir: Path) -> Path:
    """One tiny language run with a weight average (training is the slow part)."""
    run = tmp_path_factory.mktemp("ema-runs") / "tiny"
    with pytest.MonkeyPatch.context() as mp:  # the autouse cache fixture is per test: set it here too
        mp.setenv("CHARGAN_CACHE_DIR", str(_session_cache_dir))
        mp.delenv("CHARGAN_DATA_DIR", raising=False)
        chargan.families.train(PRESETS["cpu"].with_overrides(ema_decay=0.5, **TINY), run, progress=False,
                               echo=lambda _: None)
    return run


def test_a_language_run_logs_js4_and_js4_raw(averaged_run: Path) -> None:
    evaluated = [r for r in RunDirectory(averaged_run).read_metrics() if "js4" in r]
    assert evaluated and all("js4_raw" in r for r in evaluated)
    assert json.loads((averaged_run / "config.json").read_text())["train"]["ema_decay"] == 0.5


def test_sample_uses_the_average_unless_asked_for_the_raw_weights(averaged_run: Path) -> None:
    saved = load_file(str(latest_checkpoint(averaged_run / "checkpoints") / "weights.safetensors"))
    for raw, name in ((False, AVERAGE), (True, "generator")):
        loaded = load_run(averaged_run, "cpu", raw=raw)
        assert loaded.weights == name
        for key, value in loaded.generator.state_dict().items():
            assert torch.equal(value, saved[f"{name}.{key}"])
    assert not all(torch.equal(saved[f"{AVERAGE}.{k}"], saved[f"generator.{k}"])
                   for k in load_run(averaged_run, "cpu").generator.state_dict())
    for flags, raw in (([], False), (["--raw-weights"], True)):
        result = CliRunner().invoke(cli, ["sample", "-n", "5", "--seed", "3", "--device", "cpu", "--run",
                                          str(averaged_run), *flags], catch_exceptions=False)
        assert result.exit_code == 0
        assert result.output.splitlines() == sample_run(averaged_run, 5, seed=3, device="cpu", raw=raw)


def test_eval_scores_the_average_unless_asked_for_the_raw_weights(averaged_run: Path) -> None:
    for flags, raw in (([], False), (["--raw-weights"], True)):
        result = CliRunner().invoke(cli, ["eval", "--json", "-n", "32", "--device", "cpu", "--run", str(averaged_run),
                                          *flags], catch_exceptions=False)
        assert result.exit_code == 0
        expected = chargan.families.evaluate(averaged_run, 32, device="cpu", raw=raw)
        assert json.loads(result.output)["js4"] == pytest.approx(expected["js4"])


def test_export_takes_the_average_by_default(averaged_run: Path, tmp_path: Path) -> None:
    from chargan.export import export_run, load_exported

    saved = load_file(str(latest_checkpoint(averaged_run / "checkpoints") / "weights.safetensors"))
    for raw, name in ((False, AVERAGE), (True, "generator")):
        generator, _ = load_exported(export_run(averaged_run, tmp_path / name, samples=0, raw=raw), "cpu")
        assert all(torch.equal(v, saved[f"{name}.{k}"]) for k, v in generator.state_dict().items())


# ------------------------------------------------------------------------------------------ real smoothing
def test_smoothing_puts_exact_values() -> None:
    rows = F.one_hot(torch.tensor([[0, 3, 4]]), 5).float()
    smoothed = smooth_one_hots(rows, 0.1)
    assert torch.allclose(smoothed[0, 1], torch.tensor([0.025, 0.025, 0.025, 0.9, 0.025]))
    assert torch.equal(smooth_one_hots(rows, 0.0), rows)


def test_real_rows_and_interpolates_stay_on_the_simplex() -> None:
    torch.manual_seed(0)
    real = F.one_hot(torch.randint(0, 7, (16, 10)), 7).float()
    for sigma in (0.0, 0.5, 3.0):
        noisy = noisy_rows(smooth_one_hots(real, 0.1), sigma, torch.randn(real.shape))
        fake = torch.softmax(torch.randn(real.shape), -1)
        eps = torch.rand(16, 1, 1)
        for rows in (noisy, eps * noisy + (1 - eps) * fake):
            assert (rows >= 0).all()
            assert torch.allclose(rows.sum(-1), torch.ones(16, 10), atol=1e-6)


def test_the_noise_anneals_linearly_to_zero() -> None:
    assert annealed_sigma(0.7, 0, 100) == 0.7
    assert annealed_sigma(0.7, 50, 100) == pytest.approx(0.35)
    assert annealed_sigma(0.7, 100, 100) == 0.0 and annealed_sigma(0.7, 10_000, 100) == 0.0


def test_an_anneal_of_0_spans_the_whole_run() -> None:
    assert base_config(noise_anneal_iterations=0, iterations=40).noise_anneal_horizon == 40
    assert base_config(noise_anneal_iterations=25, iterations=40).noise_anneal_horizon == 25
    trainer = make_trainer(None, base_config(real_smoothing=0.1, real_noise=0.8, noise_anneal_iterations=0,
                                             iterations=4, critic_iters=1))
    sigmas = [float(trainer.train_iteration()["real_noise"]) for _ in range(4)]
    assert sigmas == pytest.approx([0.8, 0.6, 0.4, 0.2])
    with pytest.raises(UserError, match="noise-anneal-iterations"):
        base_config(noise_anneal_iterations=-1).validate()


def test_the_critic_sees_smoothed_noisy_reals_and_the_noise_is_logged(monkeypatch: pytest.MonkeyPatch) -> None:
    trainer = make_trainer(None, base_config(real_smoothing=0.1, real_noise=0.5, noise_anneal_iterations=4,
                                             critic_iters=1))
    seen = []
    original = trainer.steps._critic_update
    monkeypatch.setattr(trainer.steps, "_critic_update", lambda real, *a: seen.append(real) or original(real, *a))
    sigmas = [float(trainer.train_iteration()["real_noise"]) for _ in range(5)]
    assert sigmas == pytest.approx([0.5, 0.375, 0.25, 0.125, 0.0])
    for real in seen:
        assert (real > 0).all() and torch.allclose(real.sum(-1), torch.ones(real.shape[:2]), atol=1e-6)
    assert real.max() == pytest.approx(0.9)  # sigma 0 at the end: smoothed, no noise


def test_smoothing_is_refused_where_reals_are_not_one_hots() -> None:
    with pytest.raises(UserError, match="real-smoothing and --real-noise apply to one-hot"):
        get_toy_config("8gaussians").with_overrides(real_smoothing=0.1).validate()
    with pytest.raises(UserError, match="real-noise needs real-smoothing"):
        PRESETS["cpu"].with_overrides(real_smoothing=0.0, real_noise=0.5).validate()
    result = CliRunner().invoke(cli, ["train", "--config", "8gaussians", "--real-smoothing", "0.1"])
    assert result.exit_code == 2
    result = CliRunner().invoke(cli, ["train", "--ema-decay", "0", "--ema-warmup"])  # moot without an average
    assert result.exit_code == 2 and "ema-warmup does not apply" in result.output


# ------------------------------------------------------------------------------------------- each recipe
#: The cpu preset with one of its two extras at a time (it has both): each logs its own metric and not the other's.
AVERAGE_ONLY = {"ema_decay": 0.9, "ema_warmup": True, "real_smoothing": 0.0, "real_noise": 0.0}
SMOOTHING_ONLY = {"ema_decay": 0.0, "ema_warmup": False, "real_noise": 1.0, "noise_anneal_iterations": 2}


@pytest.mark.parametrize("recipe, overrides, logged, absent", [
    ("paper-ttur", {}, set(), {"js4_raw", "real_noise"}),
    ("paper-best", {"noise_anneal_iterations": 2}, {"js4_raw", "real_noise"}, set()),
    ("cpu", AVERAGE_ONLY, {"js4_raw"}, {"real_noise"}),
    ("cpu", SMOOTHING_ONLY, {"real_noise"}, {"js4_raw"}),
])
def test_a_short_run_of_each_recipe_trains_and_logs_its_metrics(recipe: str, overrides: dict, logged: set[str],
                                                                 absent: set[str], tmp_path: Path) -> None:
    lines: list[str] = []
    config = PRESETS[recipe].with_overrides(**TINY, **overrides)
    before = torch.get_num_threads()
    trained = chargan.families.train(config, tmp_path / "run", progress=False, echo=lines.append)
    assert torch.get_num_threads() == before  # the run's thread count is its own: the caller's comes back
    assert trained.result.iteration == 3 and not trained.result.interrupted
    records = RunDirectory(tmp_path / "run").read_metrics()
    assert all(np.isfinite(r["critic_loss"]) for r in records if "critic_loss" in r)
    assert logged <= set().union(*records) and not absent & set().union(*records) and "js4" in records[-1]
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    (summary,) = [line for line in lines if line.startswith("CPU threads: ")]
    assert type(config).from_dict(saved) == config and summary.startswith(f"CPU threads: {saved['cpu_threads']} (")


class PlainCritic(torch.nn.Module):
    """A critic without its own input gradient: its penalty needs autograd's double backward."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(VOCAB * LENGTH, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)).squeeze(1)


def test_cuda_graphs_refuse_a_critic_without_its_own_input_gradient() -> None:
    # Its critic step stays eager (AOTAutograd has no double backward): no graph to replay, said at once.
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=0, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    with pytest.raises(UserError, match="cuda-graphs replays the compiled critic step, which needs a critic that "
                                        "computes its own input gradient"):
        Trainer(generator, PlainCritic(), data, base_config(compile=True, cuda_graphs=True), progress=False)


def test_cuda_graphs_need_compile_and_a_cuda_device() -> None:
    with pytest.raises(UserError, match="cuda-graphs replays the compiled critic step: it needs --compile"):
        TrainConfig(cuda_graphs=True).validate()
    with pytest.raises(UserError, match="cuda-graphs needs a CUDA device"):
        make_trainer(None, base_config(compile=True, cuda_graphs=True))
