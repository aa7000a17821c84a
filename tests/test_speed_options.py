"""Speed options (fused optimizers, bf16 autocast, torch.compile) leave the first step's math unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from chargan import RunDirectory, Trainer, TrainConfig, UserError
from chargan.core import steps as steps_module
from tiny_trainer import tiny_trainer

VOCAB, LENGTH = 5, 8


def make_trainer(config: TrainConfig, run: RunDirectory | None = None) -> Trainer:
    return tiny_trainer(config, VOCAB, LENGTH, dim=16, latent_dim=4, n_blocks=1, kernel_size=3, rows=200, run=run)


def config(**changes) -> TrainConfig:
    values = dict(iterations=2, batch_size=8, critic_iters=2, device="cpu", log_every=1, eval_every=1, checkpoint_every=1)
    return TrainConfig(**{**values, **changes})


def first_step(**changes) -> tuple[dict[str, float], list[torch.Tensor], Trainer]:
    trainer = make_trainer(config(**changes))
    stats = {k: v.item() for k, v in trainer.train_iteration().items()}
    params = [p.detach().clone() for m in (trainer.generator, trainer.critic) for p in m.parameters()]
    return stats, params, trainer


def assert_same_step(a, b, rtol: float, atol: float) -> None:
    stats_a, params_a, _ = a
    stats_b, params_b, _ = b
    assert stats_a.keys() == stats_b.keys()
    for key in stats_a:
        assert stats_b[key] == pytest.approx(stats_a[key], rel=rtol, abs=atol), key
    for p, q in zip(params_a, params_b):
        torch.testing.assert_close(q, p, rtol=rtol, atol=atol)


@pytest.mark.parametrize("optimizer, kernel", [("adam", "fused"), ("rmsprop", "foreach")])
def test_fused_optimizer_matches_the_plain_step(optimizer: str, kernel: str) -> None:
    plain = first_step(optimizer=optimizer)
    fused = first_step(optimizer=optimizer, fused_optimizer=True)
    # torch 2.13 has fused Adam on CPU; RMSprop has no fused kernel and falls back to foreach.
    assert all(g[kernel] for g in fused[2].critic_optimizer.param_groups)
    assert not plain[2].critic_optimizer.param_groups[0].get(kernel)
    assert_same_step(plain, fused, rtol=1e-5, atol=1e-6)


def test_bf16_autocast_matches_fp32_within_bf16_precision() -> None:
    plain = first_step()
    trainer = make_trainer(config(precision="bf16"))
    seen: list[torch.dtype] = []
    conv = trainer.critic.blocks[0].conv1
    conv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    stats = {k: v for k, v in trainer.train_iteration().items()}
    assert torch.bfloat16 in seen  # the critic really ran in bfloat16
    assert all(v.dtype == torch.float32 for v in stats.values())  # losses and the penalty's norm in float32
    bf16 = ({k: v.item() for k, v in stats.items()},
            [p.detach().clone() for m in (trainer.generator, trainer.critic) for p in m.parameters()], trainer)
    assert bf16[0] != plain[0]  # a different computation ...
    assert_same_step(plain, bf16, rtol=5e-2, atol=5e-3)  # ... with the same result, to bfloat16's precision


def test_compile_matches_the_eager_step(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch._dynamo")
    # aot_eager runs the same graph capture and AOTAutograd as inductor, without the minute of
    # C++ code generation inductor spends on a CPU (measured: ~50 s for this tiny model).
    monkeypatch.setattr(steps_module, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    plain = first_step()
    compiled = first_step(compile=True)
    # The compiled path was taken, for the whole critic step too (ConvCritic has its own input gradient).
    steps = compiled[2].steps
    for step in (steps.critic_loss, steps.generator_loss, steps.generator_for_fakes):
        assert isinstance(step, torch._dynamo.eval_frame.OptimizedModule)
    assert_same_step(plain, compiled, rtol=1e-5, atol=1e-6)


def test_compile_leaves_a_double_backward_critic_step_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch._dynamo")
    monkeypatch.setattr(steps_module, "COMPILE_BACKEND", "aot_eager")
    torch._dynamo.reset()
    trainer = make_trainer(config(compile=True))
    plain = torch.nn.Sequential(trainer.critic)  # the same critic, without its own input gradient
    trainer = Trainer(trainer.generator, plain, trainer.data, config(compile=True), progress=False)
    assert not isinstance(trainer.steps.critic_loss, torch._dynamo.eval_frame.OptimizedModule)
    stats = trainer.train_iteration()  # AOTAutograd would refuse the double backward
    assert stats["gradient_penalty"].item() > 0


def test_speed_options_may_change_on_resume(tmp_path: Path) -> None:
    run = RunDirectory(tmp_path / "run")
    make_trainer(config(iterations=1), run).fit()
    assert config().guard() == config(precision="bf16", fused_optimizer=True, compile=True).guard()
    resumed = make_trainer(config(fused_optimizer=True), run)
    assert resumed.resume() and resumed.iteration == 1
    # load_state_dict copies the saved run's (plain) kernel choice: the new setting must win.
    assert resumed.critic_optimizer.param_groups[0]["fused"] and resumed.generator_optimizer.param_groups[0]["fused"]
    assert resumed.fit().iteration == 2


def test_unknown_precision_is_refused() -> None:
    with pytest.raises(UserError, match="precision"):
        config(precision="fp16").validate()


def test_backend_flags_are_set_for_cuda_only() -> None:
    from chargan.core.device import configure_backends

    flags = [(torch.backends.cuda.matmul, "allow_tf32"), (torch.backends.cudnn, "allow_tf32"), (torch.backends.cudnn, "benchmark")]
    saved = [getattr(owner, name) for owner, name in flags]
    try:
        for owner, name in flags:
            setattr(owner, name, False)
        configure_backends(torch.device("cpu"))
        assert not any(getattr(owner, name) for owner, name in flags)
        configure_backends(torch.device("cuda"))  # only sets flags: needs no GPU
        assert all(getattr(owner, name) for owner, name in flags)
    finally:  # global state: put it back
        for (owner, name), value in zip(flags, saved):
            setattr(owner, name, value)
