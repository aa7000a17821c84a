"""The one training loop: n_critic critic steps, then one generator step.

It knows nothing of text or images: it sees a generator ``z -> x``, a critic
``x -> score`` (``(batch, ...) -> (batch,)``), a source of real batches of the
same shape as ``x``, and an optional evaluation callback. Everything a family
needs (decoding, metrics, sample files) lives in that callback.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from chargan.core import distributed
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from chargan.core.data import BatchSource
from chargan.core.device import configure_backends, resolve_device
from chargan.core.losses import CriticLoss, GeneratorLoss
from chargan.core.objectives import get_objective
from chargan.core.penalty import has_input_gradient, interpolation_weights
from chargan.core.plots import plot_metrics
from chargan.core.run import RunDirectory
from chargan.errors import UserError

#: Forward-pass precisions: float32 everywhere, or bfloat16 autocast.
PRECISIONS = ("fp32", "bf16")

#: ``evaluate(generator, iteration) -> metrics``; runs under ``torch.no_grad``, generator in eval mode.
#: Under torchrun it runs on rank 0 alone, unless it has ``across_ranks = True``: then every rank calls
#: it, and it splits its sampling over them (`chargan.core.sampling.generate` with ``across_ranks``).
Evaluator = Callable[[nn.Module, int], dict[str, float]]


@dataclass(frozen=True)
class TrainConfig:
    """Optimization settings; defaults are the reference language script's."""

    iterations: int = 200_000  # generator iterations
    batch_size: int = 64
    critic_iters: int = 10  # critic steps per generator step
    objective: str = "wgan-gp"  # see chargan.core.objectives.OBJECTIVES
    lambda_gp: float = 10.0  # penalty weight, for objectives with a penalty
    clip_value: float = 0.01  # critic weight bound c, for wgan-clip
    optimizer: str = "adam"  # "adam" (betas apply) or "rmsprop" (the original WGAN's)
    lr: float = 1e-4
    lr_decay: str = "none"  # "none", or "linear": to 0 at `iterations` (the paper's CIFAR ResNet)
    betas: tuple[float, float] = (0.5, 0.9)
    generator_batch_size: int | None = None  # None: batch_size (the CIFAR ResNet uses 2 x batch_size)
    seed: int = 0
    device: str = "auto"
    log_every: int = 10
    eval_every: int = 100
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    # Speed options: they change how the math runs, not what it is, so a resumed run may change them.
    precision: str = "fp32"  # "fp32", or "bf16": autocast forward passes; the penalty's norm stays float32
    fused_optimizer: bool = False  # Adam/RMSprop with fused kernels where torch has them, else foreach
    compile: bool = False  # torch.compile the generator and the critic step where it can (see Trainer)

    def validate(self) -> None:
        """Raise `UserError` naming the first impossible value."""
        positive = ("iterations", "batch_size", "critic_iters", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UserError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UserError(f"lr must be a positive number, got {self.lr!r}")
        if not (self.lambda_gp >= 0 and math.isfinite(self.lambda_gp)):
            raise UserError(f"lambda-gp must be a non-negative number, got {self.lambda_gp!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise UserError(f"betas must be two numbers in [0, 1), got {self.betas!r}")
        if not (self.clip_value > 0 and math.isfinite(self.clip_value)):
            raise UserError(f"clip-value must be a positive number, got {self.clip_value!r}")
        if self.optimizer not in ("adam", "rmsprop"):
            raise UserError(f"optimizer must be 'adam' or 'rmsprop', got {self.optimizer!r}")
        if self.lr_decay not in ("none", "linear"):
            raise UserError(f"lr-decay must be 'none' or 'linear', got {self.lr_decay!r}")
        if self.generator_batch_size is not None and (
                not isinstance(self.generator_batch_size, int) or self.generator_batch_size < 1):
            raise UserError(f"generator-batch-size must be a positive integer, got {self.generator_batch_size!r}")
        if self.precision not in PRECISIONS:
            raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        get_objective(self.objective)

    def guard(self) -> dict[str, Any]:
        """The settings a resumed run must keep (how long and how often may change)."""
        fixed = asdict(self)
        for free in ("iterations", "device", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
                     "precision", "fused_optimizer", "compile"):
            fixed.pop(free)
        return fixed


@dataclass
class TrainResult:
    iteration: int
    interrupted: bool
    metrics: dict[str, float] = field(default_factory=dict)


class Trainer:
    """Trains ``generator`` against ``critic`` on batches from ``data``.

    Shapes: ``generator(z)`` with ``z`` ``(batch, latent_dim)`` returns
    ``(batch, ...)``, the shape of ``data.sample(batch)``; ``critic`` maps that
    to ``(batch,)`` scores. The critic must score each example independently
    (no batch normalization): the penalty is per example.

    With a ``run``, the trainer logs to ``metrics.jsonl``, refreshes the plot,
    checkpoints every ``checkpoint_every`` iterations, at the end and on
    Ctrl-C / SIGTERM, and `resume` continues bit-for-bit where it stopped.
    ``guard`` is a JSON-able description of everything that must not change
    across a resume (the model and optimization settings).

    Speed options (``config``; each leaves the first step's losses equal to the
    plain path within tolerance, tests/test_speed_options.py):

    - ``fused_optimizer``: fused Adam (CPU and CUDA); RMSprop has no fused
      kernel in torch 2.13 and uses foreach instead. Never fails: any device
      the fused kernels refuse falls back to foreach.
    - ``precision="bf16"``: ``torch.autocast`` around the generator's and
      critic's forward passes; scores, losses and the penalty's gradient norm
      are float32. A CUDA GPU without bfloat16 is a `UserError`.
    - ``compile``: ``torch.compile`` of the generator's fakes, of the
      generator step (`GeneratorLoss`: both networks, one graph) and of the
      whole critic step's loss (`CriticLoss`: forward, penalty and their
      backward) when the critic computes its own input gradient
      (`chargan.ConvCritic`) or the objective has no penalty.
      Other critics' penalty needs a double backward, which AOTAutograd does
      not have (torch 2.13 raises "does not currently support double
      backward"): their critic step stays eager. No fallback is needed and
      none is taken. Inductor spends 10-50 s compiling even a tiny model on a
      2-core CPU.
    - On CUDA, TF32 and cuDNN autotuning are on (`configure_backends`).

    Data parallel (launched by torchrun, see `chargan.core.distributed`):
    ``batch_size`` is the global batch; each rank computes its shard of the
    rows, the noise and the interpolation weights (all drawn from streams that
    are identical on every rank), DDP averages the gradients, and N ranks
    train the trajectory one process trains, to float precision. The critic
    step's whole loss is one DDP call (`CriticLoss`, whose penalty gradient
    is the critic's ``input_gradient`` or ``autograd.grad(create_graph=True)``),
    then one backward of the total loss (DDP supports neither two forwards per
    backward nor ``backward(create_graph=True)``). Rank 0 alone logs and
    checkpoints; a checkpoint resumes on any number of ranks. Evaluation runs
    on rank 0, or on every rank for an evaluator with ``across_ranks = True``
    (each generates its share of the samples, rank 0 writes them).
    """

    def __init__(
        self,
        generator: nn.Module,
        critic: nn.Module,
        data: BatchSource,
        config: TrainConfig = TrainConfig(),
        *,
        latent_dim: int | None = None,
        run: RunDirectory | None = None,
        evaluate: Evaluator | None = None,
        guard: dict[str, Any] | None = None,
        progress: bool = True,
        echo: Callable[[str], None] = tqdm.write,
    ) -> None:
        config.validate()
        self.config = config
        self.device = distributed.rank_device(resolve_device(config.device))
        configure_backends(self.device)
        self.autocast_dtype = _autocast_dtype(config.precision, self.device)
        self.generator = generator.to(self.device)
        self.critic = critic.to(self.device)
        self.data = data
        self.latent_dim = latent_dim if latent_dim is not None else int(getattr(generator, "latent_dim"))
        self.run = run
        self.evaluate = evaluate
        self.guard = guard if guard is not None else {"train": config.guard()}
        self.is_main = distributed.is_main_process()
        self.progress = progress and self.is_main
        self.echo = echo if self.is_main else _silent
        self.objective = get_objective(config.objective)
        # A generator without trainable parameters (e.g. data plus noise) is held fixed: no optimizer.
        self.generator_optimizer = _optimizer(config, generator) if _trainable(generator) else None
        self.critic_optimizer = _optimizer(config, critic)
        # One noise stream, identical on every rank: each rank draws the global batch and keeps its
        # shard, so N ranks train exactly what one process would, and any rank's state resumes any N.
        self.rng = torch.Generator(device=self.device).manual_seed(config.seed)
        self.iteration = 0
        self.seconds = 0.0
        self._stop_signal: str | None = None
        self._last_eval: dict[str, float] = {}
        self._setup_parallel_and_compile(data)

    def _setup_parallel_and_compile(self, data: BatchSource) -> None:
        """The callables the steps run: DDP wrappers when distributed, compiled ones with ``compile``.

        ``self.generator`` and ``self.critic`` stay the plain modules (checkpoints, evaluation).
        """
        self.distributed = distributed.is_distributed()
        self._critic_rows = distributed.shard(self.config.batch_size)
        self._generator_rows = distributed.shard(self.config.generator_batch_size or self.config.batch_size)
        if self.distributed:
            set_shard = getattr(data, "set_shard", None)
            if set_shard is None:
                raise UserError(f"{type(data).__name__} cannot split its batches over {distributed.world_size()} processes "
                                "(it has no set_shard(rank, world_size))", hint="train it in one process")
            set_shard(distributed.rank(), distributed.world_size())
        generator_train: nn.Module = self.generator
        critic_loss: nn.Module = CriticLoss(self.critic, self.objective, self.config.lambda_gp)
        if self.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            if self.generator_optimizer is not None:
                generator_train = DDP(self.generator, device_ids=ids)
            critic_loss = DDP(critic_loss, device_ids=ids)
        self._generator_per_row = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.generator.modules())
        self._generator_fake = self.generator  # fakes for the critic step, under no_grad
        self._critic_loss = critic_loss  # the critic step's loss (gradients reduced over ranks)
        # The generator step's loss; the critic is called outside DDP, as its weights take no gradient there.
        self._generator_loss: nn.Module = GeneratorLoss(generator_train, self.critic, self.objective)
        if self.config.compile:
            self._generator_fake = _compile(self.generator)
            if self.distributed:  # DDP compiles at the top of a graph: the two networks apart
                self._generator_loss = GeneratorLoss(_compile(generator_train), _compile(self.critic), self.objective)
            else:
                self._generator_loss = _compile(self._generator_loss)
            # AOTAutograd has no double backward (torch 2.13: "torch.compile with aot_autograd does not
            # currently support double backward"): only a critic with its own input gradient, whose
            # penalty is first-order, has its whole critic step compiled.
            if self.objective.penalty is None or has_input_gradient(self.critic):
                self._critic_loss = _compile(critic_loss)

    # ------------------------------------------------------------ one iteration
    def noise(self, batch_size: int) -> Tensor:
        """``(batch_size, latent_dim)`` standard normal noise."""
        return torch.randn(batch_size, self.latent_dim, device=self.device, generator=self.rng)

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def critic_step(self) -> dict[str, Tensor]:
        """One critic update; returns detached ``wasserstein``, ``gradient_penalty``, ``grad_norm``.

        Each value is this rank's (the whole batch's in one process).
        """
        return self.critic_steps(1)[0]

    def critic_steps(self, steps: int) -> list[dict[str, Tensor]]:
        """``steps`` critic updates (`critic_step`'s values for each).

        The generator does not change during them, so all their fakes come
        from one generator call (one large batch runs faster than ``steps``
        small ones), unless it has batch norm (whose statistics would then
        span the steps). Noise and interpolation weights are drawn in the
        order single steps draw them, so the result is the same.
        """
        batch = self.config.batch_size  # global rows; this rank computes self._critic_rows of them
        rows = self._critic_rows
        reals = [self.data.sample(rows.stop - rows.start).to(self.device) for _ in range(steps)]
        noise: list[Tensor] = []
        weights: list[Tensor | None] = []
        for real in reals:
            noise.append(self.noise(batch)[rows])
            # eps drawn for the global batch, as `interpolate` draws it in one process.
            penalized = self.objective.penalty is not None
            weights.append(interpolation_weights(batch, real, self.rng)[rows] if penalized else None)
        with torch.no_grad(), self._autocast():
            if self._generator_per_row:
                fakes = self._generator_fake(torch.cat(noise)).split(len(noise[0]))
            else:  # batch norm: each step's fakes are normalized over that step's batch alone
                fakes = [self._generator_fake(z) for z in noise]
        # autocast may hand back bfloat16 fakes
        return [self._critic_update(real, fake.to(real.dtype), eps) for real, fake, eps in zip(reals, fakes, weights)]

    def _critic_update(self, real: Tensor, fake: Tensor, eps: Tensor | None) -> dict[str, Tensor]:
        with self._autocast():
            loss, penalty, grad_norm = self._critic_loss(real, fake, eps)
        self.critic_optimizer.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        self.critic_optimizer.step()
        if self.objective.weight_clip:
            with torch.no_grad():
                for p in self.critic.parameters():
                    p.clamp_(-self.config.clip_value, self.config.clip_value)
        return {"wasserstein": -loss.detach(), "gradient_penalty": penalty.detach(), "grad_norm": grad_norm}

    def generator_step(self) -> Tensor:
        """One generator update (just the loss, for a fixed generator); returns the detached loss."""
        batch = self.config.generator_batch_size or self.config.batch_size
        z = self.noise(batch)[self._generator_rows]
        if self.generator_optimizer is None:
            with torch.no_grad(), self._autocast():
                return self._generator_loss(z)
        self.critic.requires_grad_(False)  # no critic weight gradients needed here
        try:
            with self._autocast():
                loss = self._generator_loss(z)
            self.generator_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.generator_optimizer.step()
        finally:
            self.critic.requires_grad_(True)
        return loss.detach()

    def learning_rate(self, iteration: int) -> float:
        """The step size of generator iteration ``iteration`` (0-based) under ``lr_decay``."""
        if self.config.lr_decay == "linear":
            return self.config.lr * max(0.0, 1.0 - iteration / self.config.iterations)
        return self.config.lr

    def train_iteration(self) -> dict[str, Tensor]:
        """``critic_iters`` critic steps and one generator step; values stay on the device."""
        self.generator.train()
        self.critic.train()
        if self.config.lr_decay != "none":
            # A function of the iteration alone: a resumed run continues the same schedule.
            lr = self.learning_rate(self.iteration)
            for optimizer in (self.critic_optimizer, self.generator_optimizer):
                for group in optimizer.param_groups if optimizer is not None else ():
                    group["lr"] = lr
        critic_stats = self.critic_steps(self.config.critic_iters)
        stats = {k: torch.stack([s[k] for s in critic_stats]).mean() for k in critic_stats[0]}
        stats["critic_loss"] = stats["gradient_penalty"] - stats["wasserstein"]
        stats["generator_loss"] = self.generator_step()
        self.iteration += 1
        return stats

    # ----------------------------------------------------------------- the loop
    def fit(self) -> TrainResult:
        """Train until ``config.iterations`` generator iterations are done, or a stop signal.

        Under torchrun every rank runs this loop in step; rank 0 alone logs and
        checkpoints, and evaluates unless the evaluator splits its sampling over
        the ranks (the others wait for it in the next gradient reduction).
        """
        cfg = self.config
        pending: list[dict[str, Tensor]] = []
        bar = tqdm(total=cfg.iterations, initial=self.iteration, disable=not self.progress, unit="it", dynamic_ncols=True)
        # Every rank takes part in an evaluation that splits its sampling over them; else rank 0 alone.
        evaluates_here = self.evaluate is not None and (self.is_main or getattr(self.evaluate, "across_ranks", False))
        if self.iteration == 0 and evaluates_here:
            first = self._run_evaluation()
            if self.is_main:
                self._log({"iteration": 0, **first}, bar)
        started, since_log = time.perf_counter(), self.iteration
        record: dict[str, float] = {}
        saved_at = -1
        with _StopSignals(self):
            while self.iteration < cfg.iterations and not self._stop_requested():
                pending.append(self.train_iteration())
                bar.update(1)
                it = self.iteration
                # The same decision on every rank (each takes part in the reduction below).
                eval_due = self.evaluate is not None and (it % cfg.eval_every == 0 or it == cfg.iterations)
                is_eval = eval_due and evaluates_here
                if it % cfg.log_every == 0 or eval_due or it == cfg.iterations:
                    now = time.perf_counter()
                    self.seconds += now - started
                    # One host sync per logged interval, not per step (and one reduction over ranks).
                    means = distributed.all_mean(torch.stack([torch.stack(list(p.values())) for p in pending]).mean(0))
                    record = {"iteration": it, **dict(zip(pending[0].keys(), means.tolist())), "seconds": round(self.seconds, 3),
                              "it_per_sec": (it - since_log) / max(now - started, 1e-9)}
                    pending.clear()
                    if is_eval:
                        record.update(self._run_evaluation())
                    if self.is_main:
                        self._log(record, bar)
                    started, since_log = time.perf_counter(), it
                if self.run is not None and (it % cfg.checkpoint_every == 0 or it == cfg.iterations):
                    self.save()
                    saved_at = it
            bar.close()
            interrupted = self._stop_signal is not None
            if interrupted:
                self.seconds += time.perf_counter() - started
                # Still inside the signal guard: a second SIGTERM cannot cut this save short.
                if self.run is not None and saved_at != self.iteration:
                    self.save()
                if self.run is not None:
                    self.echo(f"{self._stop_signal}: stopped at iteration {self.iteration}, checkpoint saved in {self.run.root}")
        distributed.barrier()  # the last checkpoint is complete before any rank returns
        return TrainResult(self.iteration, interrupted, {**record, **self._last_eval})

    def _stop_requested(self) -> bool:
        """A stop signal seen by this process (by any rank, under torchrun: all stop at the same iteration)."""
        if not self.distributed:
            return self._stop_signal is not None
        if distributed.any_rank(self._stop_signal is not None, self.device) and self._stop_signal is None:
            self._stop_signal = "SIGTERM (another rank)"
        return self._stop_signal is not None

    def _run_evaluation(self) -> dict[str, float]:
        self.generator.eval()
        with torch.no_grad():
            metrics = self.evaluate(self.generator, self.iteration)
        self.generator.train()
        self._last_eval = dict(metrics)
        return metrics

    def _log(self, record: dict[str, Any], bar: tqdm) -> None:
        postfix = {k: f"{record[k]:.3f}" for k in ("critic_loss", "generator_loss", "wasserstein") if k in record}
        if "js4" in self._last_eval:
            postfix["js4"] = f"{self._last_eval['js4']:.3f}"
        bar.set_postfix(postfix, refresh=False)
        if any(k in record for k in self._last_eval):
            shown = {**postfix, **{k: f"{v:.4f}" for k, v in self._last_eval.items() if isinstance(v, float)}}
            self.echo(f"iteration {record['iteration']}: " + "  ".join(f"{k}={v}" for k, v in shown.items()))
        if self.run is None:
            return
        self.run.log(record)
        if self.evaluate is not None and any(k in record for k in self._last_eval):
            plot_metrics(self.run.read_metrics(), self.run.plots_dir / "metrics.png")

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "generator_optimizer": None if self.generator_optimizer is None else self.generator_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "rng": self.rng.get_state(),
        }

    def save(self) -> None:
        """Checkpoint the current iteration into the run directory (rank 0 only, under torchrun).

        The weights are the plain modules' (no DDP prefix), and the noise and data
        streams are global (identical on every rank): a run resumes on any number of ranks.
        """
        if self.run is None:
            raise RuntimeError("this trainer has no run directory to save into")
        if not self.is_main:
            return
        save_checkpoint(
            self.run.checkpoints_dir,
            self.iteration,
            {"generator": self.generator, "critic": self.critic},
            state=self.state_dict(),
            meta={"guard": self.guard, "seconds": self.seconds, "data": self.data.state_dict()},
            keep=self.config.keep_checkpoints,
        )

    def resume(self) -> bool:
        """Load the run's newest checkpoint, if any; True when one was loaded.

        Raises `UserError` when the checkpoint was written under a different
        model or optimization setup (``guard``).
        """
        if self.run is None or latest_checkpoint(self.run.checkpoints_dir) is None:
            return False
        # Optimizer state loads on the CPU: load_state_dict moves it next to the parameters.
        ckpt = load_checkpoint(self.run.checkpoints_dir, map_location="cpu")
        saved = ckpt.meta.get("guard")
        if saved != _jsonable(self.guard):
            raise UserError(
                f"checkpoint {ckpt.path} was trained with other settings: {describe_difference(saved, _jsonable(self.guard))}",
                hint="resume without changing the model or optimizer settings, or start a new run with --run",
            )
        try:
            # A module without parameters or buffers has no entries in the weights file.
            self.generator.load_state_dict(ckpt.weights.get("generator", {}))
            self.critic.load_state_dict(ckpt.weights["critic"])
            # The speed options may change on resume: keep this run's optimizer kernels.
            for optimizer, key in ((self.generator_optimizer, "generator_optimizer"), (self.critic_optimizer, "critic_optimizer")):
                if optimizer is not None:
                    kernels = _kernels(optimizer)
                    optimizer.load_state_dict(ckpt.state[key])
                    _keep_kernels(optimizer, kernels)
            self.data.load_state_dict(ckpt.meta["data"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise UserError(f"checkpoint {ckpt.path} does not fit this model or is incomplete: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        try:
            self.rng.set_state(ckpt.state["rng"])
        except (KeyError, RuntimeError):
            # A CPU generator state does not fit a CUDA generator (or vice versa): the run
            # continues on a new device, with a fresh but deterministic noise stream.
            self.rng.manual_seed(self.config.seed + ckpt.iteration)
            self.echo("note: the checkpoint's noise state is from another device type; the noise stream was reseeded")
        self.iteration = ckpt.iteration
        self.seconds = float(ckpt.meta.get("seconds", 0.0))
        self.run.truncate_metrics(self.iteration)
        return True


def _trainable(module: nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def _optimizer(config: TrainConfig, module: nn.Module) -> torch.optim.Optimizer:
    """Adam or RMSprop; with ``fused_optimizer``, fused kernels where torch has them, else foreach.

    torch 2.13 has fused Adam on CPU and CUDA, and no fused RMSprop (TypeError):
    that falls back to the foreach (multi-tensor) kernels, as does any device
    the fused kernels refuse (RuntimeError).
    """
    cls, settings = (torch.optim.RMSprop, {"lr": config.lr}) if config.optimizer == "rmsprop" else (
        torch.optim.Adam, {"lr": config.lr, "betas": config.betas})
    if not config.fused_optimizer:
        return cls(module.parameters(), **settings)
    try:
        return cls(module.parameters(), fused=True, **settings)
    except (TypeError, RuntimeError):
        return cls(module.parameters(), foreach=True, **settings)


def _keep_kernels(optimizer: torch.optim.Optimizer, kernels: list[dict[str, Any]]) -> None:
    """Restore ``fused``/``foreach`` after ``load_state_dict`` (which copies the saved run's choice)."""
    for group, own in zip(optimizer.param_groups, kernels):
        group.update(own)


def _kernels(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    return [{k: g[k] for k in ("fused", "foreach") if k in g} for g in optimizer.param_groups]


def _autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``precision`` on ``device`` (None: plain float32)."""
    if precision == "fp32":
        return None
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError(f"precision bf16 asked for, but {torch.cuda.get_device_name(device)} has no bfloat16",
                        hint="use --precision fp32")
    return torch.bfloat16


def _compile(module: nn.Module) -> Callable[..., Tensor]:
    return torch.compile(module, backend=COMPILE_BACKEND)


#: torch.compile's backend for ``compile=True`` (tests use a lighter one to stay fast).
COMPILE_BACKEND = "inductor"


def _silent(message: str) -> None:
    """The echo of ranks other than 0: one process speaks for the group."""


def _jsonable(obj: Any) -> Any:
    """What ``obj`` looks like after a JSON round trip (tuples become lists)."""
    import json

    return json.loads(json.dumps(obj))


def describe_difference(saved: Any, current: Any, prefix: str = "") -> str:
    """``'a.b was 1, now 2; ...'`` for the leaves where two nested dicts differ."""
    if isinstance(saved, dict) and isinstance(current, dict):
        diffs = [
            describe_difference(saved.get(k), current.get(k), f"{prefix}{k}.")
            for k in sorted(set(saved) | set(current))
            if saved.get(k) != current.get(k)
        ]
        return "; ".join(diffs)
    return f"{prefix.rstrip('.')} was {saved!r}, now {current!r}"


class _StopSignals:
    """Turn Ctrl-C and SIGTERM into a request to stop at the next iteration boundary.

    Stopping between iterations keeps the checkpoint consistent (no
    half-applied critic updates). A second Ctrl-C stops at once.
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.trainer._stop_signal is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.trainer._stop_signal = signal.Signals(signum).name

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def progress_echo(progress: bool, echo: Callable[[str], None]) -> Callable[[str], None]:
    """Where a family prints while training: above the progress bar when one is shown."""
    return tqdm.write if progress else echo
