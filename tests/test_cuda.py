"""The GPU path: each speed option and the data-parallel engine on CUDA (marked ``cuda``; skipped without a GPU).

None of these have run on this project's CPU machines; `benchmarks/gpu_check.sh` runs them first on a GPU.
Each compares the CUDA step with a reference (the fp32 step, the eager step, autograd's penalty, the
uninterrupted run), within the tolerance that option allows. The comparisons run with TF32 off and cuDNN
deterministic (`exact_backends`): chargan turns TF32 and cuDNN autotuning on for speed, and either alone can
move a step by more than the options under test do. `benchmarks/gpu_check.sh`'s timings keep them on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from chargan import ConvCritic, RunDirectory, Trainer, TrainConfig
from chargan.core import steps as steps_module
from chargan.core.penalty import per_example_norms, penalty_from_norms
from tiny_trainer import tiny_trainer

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (benchmarks/gpu_check.sh runs these)"),
]

VOCAB, LENGTH = 7, 16
#: The step size of `config` (TrainConfig's default): Adam moves each weight by about this much per step.
LR = 1e-4


def exact_backends(device: torch.device) -> None:
    """`chargan.core.device.configure_backends` for comparisons: TF32 off, cuDNN deterministic, no autotuning."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


@pytest.fixture(autouse=True)
def _exact_math(monkeypatch: pytest.MonkeyPatch):
    """Every trainer of these tests built with `exact_backends`; torch's flags as they were afterwards."""
    flags = [(torch.backends.cuda.matmul, "allow_tf32"), (torch.backends.cudnn, "allow_tf32"),
             (torch.backends.cudnn, "benchmark"), (torch.backends.cudnn, "deterministic")]
    saved = [getattr(owner, name) for owner, name in flags]
    monkeypatch.setattr(steps_module, "configure_backends", exact_backends)
    yield
    for (owner, name), value in zip(flags, saved):
        setattr(owner, name, value)


def make_trainer(config: TrainConfig, run: RunDirectory | None = None) -> Trainer:
    return tiny_trainer(config, VOCAB, LENGTH, dim=32, latent_dim=8, n_blocks=2, kernel_size=5, rows=256, run=run)


def config(**changes) -> TrainConfig:
    values = dict(iterations=4, batch_size=16, critic_iters=2, device="cuda", log_every=1, eval_every=2,
                  checkpoint_every=2, lr=LR)
    return TrainConfig(**{**values, **changes})


def first_step(**changes) -> tuple[dict[str, float], list[torch.Tensor], Trainer]:
    trainer = make_trainer(config(**changes))
    stats = {k: v.item() for k, v in trainer.train_iteration().items()}
    params = [p.detach().float().cpu() for m in (trainer.generator, trainer.critic) for p in m.parameters()]
    return stats, params, trainer


def first_iterations(n: int, **changes) -> tuple[list[dict[str, float]], list[torch.Tensor], Trainer]:
    """``n`` iterations' values, read only after the last: a value a later CUDA-graph replay overwrote shows."""
    trainer = make_trainer(config(**changes))
    kept = [trainer.train_iteration() for _ in range(n)]
    stats = [{k: v.item() for k, v in s.items()} for s in kept]
    params = [p.detach().float().cpu() for m in (trainer.generator, trainer.critic) for p in m.parameters()]
    return stats, params, trainer


def assert_same_step(a, b, rtol: float, atol: float) -> None:
    assert a[0].keys() == b[0].keys()
    for key in a[0]:
        assert b[0][key] == pytest.approx(a[0][key], rel=rtol, abs=atol), key
    for p, q in zip(a[1], b[1]):
        torch.testing.assert_close(q, p, rtol=rtol, atol=atol)


def test_the_run_is_on_the_gpu() -> None:
    trainer = first_step()[2]
    assert trainer.device.type == "cuda"
    assert all(p.is_cuda for m in (trainer.generator, trainer.critic) for p in m.parameters())


def test_bf16_matches_fp32_within_bf16_precision() -> None:
    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    assert_same_step(first_step(), first_step(precision="bf16"), rtol=5e-2, atol=5e-3)


def test_fused_adam_runs_fused_kernels_and_matches() -> None:
    plain, fused = first_step(), first_step(fused_optimizer=True)
    assert all(g["fused"] for g in fused[2].critic_optimizer.param_groups)
    assert_same_step(plain, fused, rtol=1e-4, atol=1e-5)


def test_compile_matches_the_eager_step() -> None:
    torch._dynamo.reset()
    compiled = first_step(compile=True)
    assert isinstance(compiled[2].steps.critic_loss, torch._dynamo.eval_frame.OptimizedModule)
    assert_same_step(first_step(), compiled, rtol=1e-3, atol=1e-4)  # inductor fuses and reorders: not bit-exact


def test_bf16_compile_fused_trains() -> None:
    torch._dynamo.reset()
    trainer = make_trainer(config(precision="bf16", compile=True, fused_optimizer=True))
    result = trainer.fit()
    assert result.iteration == 4 and np.isfinite(result.metrics["critic_loss"])


def test_the_explicit_penalty_gradient_equals_autograds() -> None:
    torch.manual_seed(0)
    critic = ConvCritic(VOCAB, LENGTH, dim=32, n_blocks=2, kernel_size=5).cuda().double()
    x = torch.randn(8, LENGTH, VOCAB, device="cuda", dtype=torch.float64).softmax(-1).requires_grad_(True)
    (expected,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    ours = critic.input_gradient(x.detach())
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)
    params = list(critic.parameters())
    for a, b in zip(torch.autograd.grad(penalty_from_norms(per_example_norms(ours)), params),
                    torch.autograd.grad(penalty_from_norms(per_example_norms(expected)), params)):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


def test_resume_continues_within_tolerance(tmp_path: Path) -> None:
    straight = make_trainer(config(ema_decay=0.9))
    straight.fit()
    run = RunDirectory(tmp_path / "run")
    make_trainer(config(iterations=2, ema_decay=0.9), run).fit()
    resumed = make_trainer(config(ema_decay=0.9), run)
    assert resumed.resume() and resumed.iteration == 2
    resumed.fit()
    # cuDNN may pick other kernels after a restart: equal to float precision, not bit for bit.
    for a, b in zip(straight.generator.parameters(), resumed.generator.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


DDP_SCRIPT = textwrap.dedent("""
    import os, sys
    import torch, torch.distributed as dist
    sys.path.insert(0, {tests!r})
    from test_cuda import config, exact_backends, make_trainer
    from chargan.core import distributed, steps
    steps.configure_backends = exact_backends  # as the test's own trainer
    dist.init_process_group("nccl", rank=0, world_size=1)
    torch.cuda.set_device(0)
    distributed.is_distributed = lambda: True  # one GPU: chargan's DDP path, on a process group of one
    trainer = make_trainer(config())
    assert type(trainer.steps.critic_loss).__name__ == "DistributedDataParallel", type(trainer.steps.critic_loss)
    result = trainer.fit()
    torch.save([p.detach().cpu() for p in trainer.generator.parameters()], {out!r})
    dist.destroy_process_group()
""")


def test_one_gpu_ddp_over_nccl_trains_what_one_process_trains(tmp_path: Path) -> None:
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29531", "RANK": "0", "WORLD_SIZE": "1",
           "LOCAL_RANK": "0"}
    script = DDP_SCRIPT.format(tests=str(Path(__file__).parent), out=str(out))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    single = make_trainer(config())
    single.fit()
    for a, b in zip(single.generator.parameters(), torch.load(out)):
        torch.testing.assert_close(a.detach().cpu(), b, rtol=1e-4, atol=1e-5)


def test_cuda_graphs_replay_the_critic_step_and_match_compile() -> None:
    # Three iterations, 6 critic steps: every step after the first is a replay of the recorded graph.
    torch._dynamo.reset()
    graphs = first_iterations(3, compile=True, cuda_graphs=True)
    torch._dynamo.reset()
    compiled = first_iterations(3, compile=True)
    # The same kernels, replayed or launched: equal but for reduction order; Adam moves a weight by about lr a
    # step whatever its gradient's size, so a weight whose gradient is near 0 may differ by a few steps' lr.
    for a, b in zip(compiled[0], graphs[0]):  # each iteration's values, read after all three
        assert a.keys() == b.keys()
        for key in a:
            assert b[key] == pytest.approx(a[key], rel=1e-3, abs=1e-4), key
    for p, q in zip(compiled[1], graphs[1]):
        torch.testing.assert_close(q, p, rtol=1e-3, atol=3 * LR)
    torch._dynamo.reset()
    # A whole fit keeps each step's values until the record: copies, not the graph's overwritten outputs.
    result = make_trainer(config(compile=True, cuda_graphs=True, log_every=4)).fit()
    assert result.iteration == 4 and np.isfinite(result.metrics["gradient_penalty"])
