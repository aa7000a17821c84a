"""Data-parallel training (DDP, gloo on 127.0.0.1): two processes train what one process would."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F

from chargan import ConvCritic, ConvGenerator, RowSampler, RunDirectory, Trainer, TrainConfig
from chargan.core import distributed
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint
from chargan.core.sampling import generate

VOCAB, LENGTH, WORLD = 5, 8, 2

pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="this torch build has no gloo process groups")


class SampleEvaluator:
    """Scores 9 samples drawn by every rank together (5 rows each under 2 ranks, one padding); says who logged it."""

    across_ranks = True

    def __call__(self, generator, iteration: int) -> dict[str, float]:
        samples = generate(generator, 9, seed=1, batch_size=4, across_ranks=True)
        return {"evaluated_by": float(distributed.rank()), "samples": len(samples),
                "sample_mean": float((samples * torch.arange(VOCAB)).sum(-1).mean())}


def make_trainer(run: RunDirectory | None, iterations: int) -> Trainer:
    torch.manual_seed(0)
    generator = ConvGenerator(VOCAB, LENGTH, dim=8, latent_dim=4, n_blocks=1, kernel_size=3)
    critic = ConvCritic(VOCAB, LENGTH, dim=8, n_blocks=1, kernel_size=3)
    rows = np.random.default_rng(0).integers(0, VOCAB, size=(200, LENGTH))
    data = RowSampler(rows, seed=0, transform=lambda ids: F.one_hot(ids, VOCAB).float())
    # batch_size is the global batch: each of 2 ranks computes 4 of its 8 rows.
    config = TrainConfig(iterations=iterations, batch_size=8, critic_iters=2, device="cpu", log_every=1,
                         eval_every=1, checkpoint_every=1, keep_checkpoints=5)
    trainer = Trainer(generator, critic, data, config, run=run, evaluate=SampleEvaluator(), progress=False)
    # Plain SGD in both setups: Adam turns the float noise of a zero gradient (the last biases
    # cancel between real and fake) into a full +-lr step, hiding float agreement behind lr-sized
    # differences. SGD keeps the reduction's float error at float size.
    trainer.critic_optimizer = torch.optim.SGD(critic.parameters(), lr=0.05)
    trainer.generator_optimizer = torch.optim.SGD(generator.parameters(), lr=0.05)
    return trainer


def _join_group(rank: int, port: int) -> None:
    """In a spawned process: join a WORLD-process gloo group on 127.0.0.1, as torchrun's environment would."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    assert distributed.init_from_env()


def _worker(rank: int, port: int, root: str, iterations: int, resume: bool) -> None:
    _join_group(rank, port)
    try:
        trainer = make_trainer(RunDirectory(root), iterations)
        assert trainer.distributed and len(trainer.data.sample(4)) == 4
        trainer.data.rng = np.random.Generator(np.random.PCG64(0))  # undo the draw just made
        if resume:
            assert trainer.resume()
        trainer.fit()
    finally:
        distributed.shutdown()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for the group's rendezvous)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ddp(root: Path, iterations: int, resume: bool = False) -> None:
    mp.spawn(_worker, args=(free_port(), str(root), iterations, resume), nprocs=WORLD, join=True)


def weights(trainer_or_checkpoint) -> dict[str, torch.Tensor]:
    if isinstance(trainer_or_checkpoint, Trainer):
        t = trainer_or_checkpoint
        return {f"{name}.{k}": v for name, m in (("generator", t.generator), ("critic", t.critic))
                for k, v in m.state_dict().items()}
    return {f"{name}.{k}": v for name, w in trainer_or_checkpoint.weights.items() for k, v in w.items()}


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=lambda m: f"{key}: {m}")


def test_two_processes_train_what_one_process_trains(tmp_path: Path) -> None:
    single = make_trainer(None, 3)
    single.fit()
    reference_at_2 = make_trainer(None, 2)
    reference_metrics = reference_at_2.fit().metrics

    run = RunDirectory(tmp_path / "run")
    run_ddp(run.root, iterations=2)
    # The parameters equal those of one process on the combined (global) batch.
    assert_close(weights(load_checkpoint(run.checkpoints_dir)), weights(reference_at_2))
    # The run directory was written once: one record per iteration, evaluated and logged by rank 0.
    records = run.read_metrics()
    assert [r["iteration"] for r in records] == [0, 1, 2]
    assert all(r["evaluated_by"] == 0.0 and r["samples"] == 9 for r in records)
    # Evaluation gathered every rank's share: the samples are those one process draws.
    assert records[-1]["sample_mean"] == pytest.approx(reference_metrics["sample_mean"], rel=1e-5)
    assert sorted(p.name for p in run.checkpoints_dir.iterdir()) == ["latest", "step_00000001", "step_00000002"]

    # Resume under DDP (2 ranks) continues the same trajectory ...
    run_ddp(run.root, iterations=3, resume=True)
    assert latest_checkpoint(run.checkpoints_dir).name == "step_00000003"
    assert_close(weights(load_checkpoint(run.checkpoints_dir)), weights(single))
    assert [r["iteration"] for r in run.read_metrics()] == [0, 1, 2, 3]

    # ... and so does a resume on another number of processes (2 ranks -> 1).
    one = make_trainer(run, 4)
    assert one.resume() and one.iteration == 3
    one.fit()
    straight = make_trainer(None, 4)
    straight.fit()
    assert_close(weights(one), weights(straight))


def _generate_worker(rank: int, port: int, out: str) -> None:
    _join_group(rank, port)
    try:
        generator = make_trainer(None, 1).generator
        rows_seen: list[int] = []
        generator.register_forward_hook(lambda module, args, output: rows_seen.append(len(args[0])))
        samples = generate(generator, 11, seed=3, batch_size=4, across_ranks=True)
        torch.save({"samples": samples, "rows_seen": rows_seen}, Path(out) / f"rank{rank}.pt")
        # Leave together, as Trainer.fit does: rank 0 hosts the group's store here, and in CI rank 1 once
        # aborted ("terminate called without an active exception") when rank 0 left first.
        distributed.barrier()
    finally:
        distributed.shutdown()


def test_generation_is_split_over_ranks_and_gathered(tmp_path: Path) -> None:
    mp.spawn(_generate_worker, args=(free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    one_process = generate(make_trainer(None, 1).generator, 11, seed=3, batch_size=4)
    for rank in range(WORLD):
        result = torch.load(tmp_path / f"rank{rank}.pt")
        assert sum(result["rows_seen"]) == 6  # ceil(11 / 2) rows each (the last rank's padded), in chunks of 4
        assert result["rows_seen"] == [4, 2]
        torch.testing.assert_close(result["samples"], one_process, rtol=1e-5, atol=1e-6)


def test_batches_that_do_not_split_evenly_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargan import UserError

    monkeypatch.setattr(distributed, "world_size", lambda: 3)
    with pytest.raises(UserError, match="batch of 8 does not split evenly over 3"):
        distributed.shard(8)


def test_without_torchrun_everything_is_single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert not distributed.init_from_env()
    assert (distributed.rank(), distributed.world_size(), distributed.is_main_process()) == (0, 1, True)
    assert distributed.shard(8) == slice(0, 8)
    x = torch.arange(6.0).reshape(3, 2)
    assert distributed.all_gather(x) is x and distributed.all_mean(x) is x


def test_torchrun_cli_trains_resumes_and_writes_the_run_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    from chargan.corpora import load_corpus

    load_corpus("demo", seq_len=16, progress=False)  # encode the corpus once, as `chargan data prepare` would
    port = free_port()
    run = tmp_path / "run"
    tiny = ["--dim", "8", "--seq-len", "16", "--batch-size", "8", "--critic-iters", "1", "--eval-every", "2",
            "--checkpoint-every", "1", "--log-every", "1", "--eval-samples", "32", "--no-progress"]

    def torchrun(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                   "--master-port", str(port), "-m", "chargan.cli", "train", *args]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)

    # --run-dir: torchrun's own parser would take "--run" for its --run-path.
    first = torchrun("--iterations", "2", "--run-dir", str(run), *tiny)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("finished at iteration 2") == 1  # rank 0 alone prints
    again = torchrun("--resume", "--run-dir", str(run), "--iterations", "3", "--no-progress")
    assert again.returncode == 0, again.stderr[-3000:]
    records = RunDirectory(run).read_metrics()
    trained = [r["iteration"] for r in records if "critic_loss" in r]
    assert trained == [1, 2, 3]  # each iteration logged once, by rank 0
    assert latest_checkpoint(run / "checkpoints").name == "step_00000003"


def test_torchrun_trains_and_resumes_a_genes_run_like_a_text_run(tmp_path: Path) -> None:
    """The genes family goes through the same runner: two ranks train, resume and log each iteration once."""
    import subprocess
    import sys

    pytest.importorskip("rapidfuzz")
    rng = np.random.default_rng(0)
    corpus = tmp_path / "genes.txt"
    corpus.write_text("".join("ATG" + "".join(rng.choice(list("ACGT"), size=3 * int(k))) + "TAA\n"
                              for k in rng.integers(2, 8, 120)))
    port = free_port()
    run = tmp_path / "run"
    tiny = ["--dim", "8", "--n-blocks", "1", "--seq-len", "30", "--batch-size", "8", "--critic-iters", "1",
            "--eval-every", "2", "--checkpoint-every", "1", "--log-every", "1", "--eval-samples", "32",
            "--eval-novelty-train", "50", "--no-progress"]

    def torchrun(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
                   "--master-port", str(port), "-m", "chargan.cli", "train", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})

    first = torchrun("--config", "genes-cpu", "--corpus", str(corpus), "--iterations", "2", "--run-dir", str(run), *tiny)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("finished at iteration 2") == 1
    again = torchrun("--resume", "--run-dir", str(run), "--iterations", "3", "--no-progress")
    assert again.returncode == 0, again.stderr[-3000:]
    records = RunDirectory(run).read_metrics()
    assert [r["iteration"] for r in records if "critic_loss" in r] == [1, 2, 3]
    assert [r["iteration"] for r in records if "valid_gene" in r] == [0, 2, 3]  # genes evaluations (3: the last)
    assert latest_checkpoint(run / "checkpoints").name == "step_00000003"
