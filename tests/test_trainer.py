"""The generic loop: logging, checkpoints, exact resume, stop signals, config guard."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig, UserError
from chargan.core.checkpoint import latest_checkpoint

VOCAB, LENGTH = 5, 8


def make_trainer(run: RunDirectory | None, config: TrainConfig, evaluate=None, guard=None) -> Trainer:
    torch.manual_seed(0)
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(VOCAB, LENGTH, dim=8, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=config.seed, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    return Trainer(generator, critic, data, config, run=run, evaluate=evaluate, guard=guard, progress=False)


def base_config(**changes) -> TrainConfig:
    values = dict(iterations=6, batch_size=8, critic_iters=2, device="cpu", log_every=2, eval_every=3, checkpoint_every=2)
    values.update(changes)
    return TrainConfig(**values)


def parameters(trainer: Trainer) -> list[torch.Tensor]:
    return [p.detach().clone() for m in (trainer.generator, trainer.critic) for p in m.parameters()]


def test_metrics_records_and_checkpoints(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    calls = []
    trainer = make_trainer(run, base_config(), evaluate=lambda g, it: calls.append(it) or {"score": float(it)})
    result = trainer.fit()
    assert result.iteration == 6 and not result.interrupted
    assert calls == [0, 3, 6]  # untrained, every eval_every, the end
    records = run.read_metrics()
    assert [r["iteration"] for r in records] == [0, 2, 3, 4, 6]
    trained = [r for r in records if "critic_loss" in r]
    for r in trained:
        assert {"wasserstein", "gradient_penalty", "generator_loss", "seconds", "grad_norm"} <= set(r)
        # critic loss = -(W distance estimate) + penalty term
        assert r["critic_loss"] == pytest.approx(r["gradient_penalty"] - r["wasserstein"], abs=1e-5)
    assert [r["score"] for r in records if "score" in r] == [0.0, 3.0, 6.0]
    assert (run.plots_dir / "metrics.png").stat().st_size > 1000
    assert latest_checkpoint(run.checkpoints_dir).name == "step_00000006"
    assert len(list(run.checkpoints_dir.glob("step_*"))) == 2  # keep_checkpoints


def test_resume_continues_bit_for_bit(tmp_path: Path) -> None:
    straight = make_trainer(None, base_config())
    straight.fit()

    run = RunDirectory(tmp_path / "run")
    first = make_trainer(run, base_config(iterations=4))
    first.fit()
    second = make_trainer(run, base_config())
    assert second.resume() and second.iteration == 4
    second.fit()
    for a, b in zip(parameters(straight), parameters(second)):
        assert torch.equal(a, b)
    assert [r["iteration"] for r in run.read_metrics()] == [2, 4, 6]


def test_resume_refuses_changed_settings(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    make_trainer(run, base_config(iterations=2), guard={"lr": 1e-4}).fit()
    other = make_trainer(run, base_config(), guard={"lr": 3e-4})
    with pytest.raises(UserError, match=r"lr was 0.0001, now 0.0003"):
        other.resume()


def test_sigterm_stops_at_an_iteration_boundary_and_saves(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")

    def evaluate(generator, iteration):
        if iteration == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return {}

    trainer = make_trainer(run, base_config(iterations=100, checkpoint_every=50), evaluate=evaluate)
    previous = signal.getsignal(signal.SIGTERM)
    result = trainer.fit()
    assert result.interrupted and result.iteration == 3
    assert signal.getsignal(signal.SIGTERM) is previous  # handler restored
    ckpt = latest_checkpoint(run.checkpoints_dir)
    assert json.loads((ckpt / "meta.json").read_text())["iteration"] == 3


@pytest.mark.parametrize(
    "change, message",
    [({"iterations": 0}, "iterations"), ({"batch_size": -1}, "batch-size"), ({"lr": 0.0}, "lr"),
     ({"lambda_gp": -1.0}, "lambda-gp"), ({"betas": (0.5, 1.0)}, "beta2"), ({"objective": "nope"}, "objective")],
)
def test_impossible_settings_are_refused(change: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        base_config(**change).validate()


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    make_trainer(run, base_config(iterations=2)).fit()
    weights = latest_checkpoint(run.checkpoints_dir) / "weights.safetensors"
    weights.write_bytes(b"not a safetensors file")
    with pytest.raises(UserError, match="corrupt"):
        make_trainer(run, base_config()).resume()


def test_the_default_guard_allows_longer_training_but_not_other_batches() -> None:
    base = base_config()
    assert base.guard() == base_config(iterations=99, eval_every=7, device="cpu").guard()
    assert base.guard() != base_config(batch_size=16).guard()
    assert base.guard() != base_config(lr=1e-3).guard()


def test_resume_after_a_crash_drops_metrics_logged_after_the_checkpoint(tmp_path: Path) -> None:
    import shutil

    straight = make_trainer(None, base_config())
    straight.fit()
    run = RunDirectory(tmp_path / "run")
    make_trainer(run, base_config(checkpoint_every=4)).fit()  # checkpoints at 4 and 6 (the end)
    shutil.rmtree(run.checkpoints_dir / "step_00000006")  # as if it crashed between 4 and 6
    (run.checkpoints_dir / "latest").unlink()
    resumed = make_trainer(run, base_config(checkpoint_every=4))
    assert resumed.resume() and resumed.iteration == 4
    assert [r["iteration"] for r in run.read_metrics()] == [2, 4]
    resumed.fit()
    assert [r["iteration"] for r in run.read_metrics()] == [2, 4, 6]
    for a, b in zip(parameters(straight), parameters(resumed)):
        assert torch.equal(a, b)


def test_new_run_paths_never_collide(tmp_path: Path) -> None:
    from chargan.core.run import new_run_path

    first = new_run_path(tmp_path, "demo-cpu")
    first.mkdir()
    second = new_run_path(tmp_path, "demo-cpu")
    assert second != first and not second.exists()
    assert second.name.startswith("demo-cpu-")


def test_linear_lr_decay_and_generator_batch_size() -> None:
    trainer = make_trainer(None, base_config(iterations=4, lr=1e-3, lr_decay="linear", generator_batch_size=24))
    seen: list[int] = []
    trainer.generator.register_forward_hook(lambda module, args, out: seen.append(args[0].shape[0]))
    lrs = []
    for _ in range(4):
        trainer.train_iteration()
        lrs.append([g["lr"] for opt in (trainer.critic_optimizer, trainer.generator_optimizer) for g in opt.param_groups])
    # Iteration k (0-based) trains at lr * (1 - k / iterations), both networks alike.
    assert lrs == [[pytest.approx(1e-3 * (1 - k / 4))] * 2 for k in range(4)]
    # 2 critic steps draw fakes of the critic's batch (8) in one call, then the generator step uses its own (24).
    assert seen == [2 * 8, 24] * 4
    with pytest.raises(UserError, match="lr-decay"):
        base_config(lr_decay="cosine").validate()
    with pytest.raises(UserError, match="generator-batch-size"):
        base_config(generator_batch_size=0).validate()


def test_critic_steps_share_one_generator_call_with_the_same_result() -> None:
    batched = make_trainer(None, base_config(critic_iters=3))
    calls: list[int] = []
    batched.generator.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    batched.critic_steps(3)
    assert calls == [3 * 8]
    one_by_one = make_trainer(None, base_config(critic_iters=3))
    one_by_one.steps.generator_per_row = False  # what a generator with batch norm gets: one call per step
    calls.clear()
    one_by_one.generator.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    one_by_one.critic_steps(3)
    assert calls == [8, 8, 8]
    for a, b in zip(parameters(batched), parameters(one_by_one)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_a_generator_with_batch_norm_gets_one_call_per_critic_step() -> None:
    trainer = make_trainer(None, base_config())
    assert trainer.steps.generator_per_row
    generator = torch.nn.Sequential(torch.nn.Linear(4, LENGTH * VOCAB), torch.nn.BatchNorm1d(LENGTH * VOCAB),
                                    torch.nn.Unflatten(1, (LENGTH, VOCAB)), torch.nn.Softmax(-1))
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=0, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    trainer = Trainer(generator, trainer.critic, data, base_config(), latent_dim=4, progress=False)
    assert not trainer.steps.generator_per_row
    calls: list[int] = []
    generator.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    trainer.train_iteration()
    assert calls == [8, 8, 8]  # 2 critic steps, one call each, then the generator step


def test_core_modules_import_each_other_in_one_direction() -> None:
    import ast

    core = Path(__file__).resolve().parents[1] / "chargan" / "core"
    imports: dict[str, set[str]] = {}
    for path in core.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # function-level imports included
            if isinstance(node, ast.ImportFrom) and node.module == "chargan.core":
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chargan.core."):
                found.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                found |= {a.name.split(".")[2] for a in node.names if a.name.startswith("chargan.core.")}
        imports[path.stem] = found

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for name in imports.get(start, ()):
            if name == target or (name not in seen and reaches(name, target, seen | {name})):
                return True
        return False

    assert [m for m in sorted(imports) if reaches(m, m, {m})] == []
