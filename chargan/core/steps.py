"""The math of one generator iteration: ``critic_iters`` critic updates, then one generator update.

`Steps` owns what those updates need and nothing else: the networks on
their device, the optimizers (fused or foreach kernels), the noise stream,
the learning-rate schedule, autocast, ``torch.compile`` and the DDP
wrappers. The loop around it (logging, evaluation, checkpoints, signals)
is `chargan.core.trainer.Trainer`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP

from chargan.core import distributed
from chargan.core.config import TrainConfig
from chargan.core.data import BatchSource
from chargan.core.device import configure_backends, resolve_device
from chargan.core.losses import CriticLoss, GeneratorLoss
from chargan.core.objectives import get_objective
from chargan.core.penalty import has_input_gradient, interpolation_weights
from chargan.core.smoothing import annealed_sigma, noisy_rows, smooth_one_hots
from chargan.errors import UsageError, UserError

#: torch.compile's backend for ``compile=True`` (tests use a lighter one to stay fast).
COMPILE_BACKEND = "inductor"


class Steps:
    """The critic and generator updates of ``generator`` against ``critic`` on batches from ``data``.

    Shapes: ``generator(z)`` with ``z`` ``(batch, latent_dim)`` returns
    ``(batch, ...)``, the shape of ``data.sample(batch)``; ``critic`` maps
    that to ``(batch,)`` scores, each example independently (no batch
    normalization: the penalty is per example). ``generator`` and ``critic``
    stay the plain modules; the steps call ``critic_loss``,
    ``generator_loss`` and ``generator_for_fakes``, which are the DDP-wrapped
    and/or compiled versions where those options are on.

    Every value a step returns is a detached 0-d float32 tensor, this rank's
    (the whole batch's in one process); nothing is copied to the host here.

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
    - ``cuda_graphs`` (with ``compile``, CUDA only): the compiled critic step
      in torch.compile's ``reduce-overhead`` mode, which records it as a CUDA
      graph and replays it (the shapes never change). A replay overwrites the
      graph's outputs, so the values a critic step returns are copies. A
      penalized objective needs a critic with its own input gradient (else
      its step stays eager and there is no graph): others are a `UsageError`.
    - On CUDA, TF32 and cuDNN autotuning are on (`configure_backends`).

    Data parallel (launched by torchrun, see `chargan.core.distributed`):
    ``batch_size`` is the global batch; each rank computes its shard of the
    rows, the noise and the interpolation weights (all drawn from streams that
    are identical on every rank), DDP averages the gradients, and N ranks
    train the trajectory one process trains, to float precision. The critic
    step's whole loss is one DDP call (`CriticLoss`, whose penalty gradient
    is the critic's ``input_gradient`` or ``autograd.grad(create_graph=True)``),
    then one backward of the total loss (DDP supports neither two forwards per
    backward nor ``backward(create_graph=True)``). Optimizer and noise state
    are global (`state_dict`), so a checkpoint resumes on any number of ranks.
    """

    def __init__(self, generator: nn.Module, critic: nn.Module, data: BatchSource, config: TrainConfig,
                 latent_dim: int | None = None) -> None:
        self.config = config
        self.device = distributed.rank_device(resolve_device(config.device))
        configure_backends(self.device)
        self.autocast_dtype = _autocast_dtype(config.precision, self.device)
        self.objective = get_objective(config.objective)
        if config.cuda_graphs and self.objective.penalty is not None and not has_input_gradient(critic):
            # Checked before the device, so a CPU can test it: without it the critic step stays eager (a double
            # backward, which AOTAutograd lacks), and there would be no compiled step to record as a graph.
            raise UsageError(f"--cuda-graphs replays the compiled critic step, which needs a critic that computes its "
                             f"own input gradient (scores_and_input_gradient); {type(critic).__name__} has none, so "
                             f"its penalty's double backward stays eager",
                             hint="drop --cuda-graphs, or use chargan.ConvCritic")
        if config.cuda_graphs and self.device.type != "cuda":
            raise UsageError(f"--cuda-graphs needs a CUDA device; this run is on {self.device}",
                             hint="drop --cuda-graphs, or train on --device cuda")
        self.generator = generator.to(self.device)
        self.critic = critic.to(self.device)
        if config.threads is not None:  # without it, the caller's choice stands (the runner chooses for a run)
            torch.set_num_threads(config.threads)
        self.data = data
        self.latent_dim = latent_dim if latent_dim is not None else int(getattr(generator, "latent_dim"))
        # A generator without trainable parameters (e.g. data plus noise) is held fixed: no optimizer.
        self.generator_optimizer = (_optimizer(config, generator, config.generator_learning_rate)
                                    if _trainable(generator) else None)
        self.critic_optimizer = _optimizer(config, critic, config.critic_learning_rate)
        self.real_noise = config.real_noise  # the noise std of the current iteration's real rows (annealed)
        # One noise stream, identical on every rank: each rank draws the global batch and keeps its
        # shard, so N ranks train exactly what one process would, and any rank's state resumes any N.
        self.rng = torch.Generator(device=self.device).manual_seed(config.seed)
        self._setup_parallel_and_compile(data)

    def _setup_parallel_and_compile(self, data: BatchSource) -> None:
        """The callables the steps run: DDP wrappers when distributed, compiled ones with ``compile``."""
        self.distributed = distributed.is_distributed()
        self.critic_rows = distributed.shard(self.config.batch_size)
        self.generator_rows = distributed.shard(self.config.generator_batch_size or self.config.batch_size)
        if self.distributed:
            set_shard = getattr(data, "set_shard", None)
            if set_shard is None:
                raise UserError(f"{type(data).__name__} cannot split its batches over {distributed.world_size()} processes "
                                "(it has no set_shard(rank, world_size))", hint="train it in one process")
            set_shard(distributed.rank(), distributed.world_size())
        generator_train: nn.Module = self.generator
        critic_loss: nn.Module = CriticLoss(self.critic, self.objective, self.config.lambda_gp)
        if self.distributed:
            ids = [self.device.index] if self.device.type == "cuda" else None
            if self.generator_optimizer is not None:
                generator_train = DDP(self.generator, device_ids=ids)
            critic_loss = DDP(critic_loss, device_ids=ids)
        # Batch norm would normalize over all critic steps' fakes at once: then one generator call per step.
        self.generator_per_row = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.generator.modules())
        self.generator_for_fakes: Callable[[Tensor], Tensor] = self.generator  # the critic steps' fakes, under no_grad
        self.critic_loss: Callable[..., tuple[Tensor, Tensor, Tensor]] = critic_loss  # gradients reduced over ranks
        # The critic is called outside DDP here, as its weights take no gradient in the generator step.
        self.generator_loss: Callable[[Tensor], Tensor] = GeneratorLoss(generator_train, self.critic, self.objective)
        if self.config.compile:
            self.generator_for_fakes = _compile(self.generator)
            if self.distributed:  # DDP compiles at the top of a graph: the two networks apart
                self.generator_loss = GeneratorLoss(_compile(generator_train), _compile(self.critic), self.objective)
            else:
                self.generator_loss = _compile(self.generator_loss)  # type: ignore[arg-type]
            # AOTAutograd has no double backward (torch 2.13: "torch.compile with aot_autograd does not
            # currently support double backward"): only a critic with its own input gradient, whose
            # penalty is first-order, has its whole critic step compiled.
            if self.config.cuda_graphs and self.distributed:
                raise UsageError("--cuda-graphs trains in one process (DDP's reductions do not replay in a graph)",
                                 hint="drop --cuda-graphs under torchrun")
            if self.objective.penalty is None or has_input_gradient(self.critic):  # else refused in __init__
                self.critic_loss = _compile(critic_loss, "reduce-overhead" if self.config.cuda_graphs else None)

    # ------------------------------------------------------------------ pieces
    def noise(self, batch_size: int) -> Tensor:
        """``(batch_size, latent_dim)`` standard normal noise from the run's stream."""
        return torch.randn(batch_size, self.latent_dim, device=self.device, generator=self.rng)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """``torch.autocast`` to bfloat16 under ``precision="bf16"``, else nothing."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def learning_rate(self, iteration: int, base: float | None = None) -> float:
        """The step size of generator iteration ``iteration`` (0-based) under ``lr_decay``, from ``base``
        (default ``lr``; each optimizer's is `TrainConfig.critic_learning_rate` / ``generator_learning_rate``)."""
        base = self.config.lr if base is None else base
        if self.config.lr_decay == "linear":
            return base * max(0.0, 1.0 - iteration / self.config.iterations)
        return base

    def real_rows(self, real: Tensor, sigma: float) -> Tensor:
        """This rank's real one-hots ``(rows, seq_len, vocab)`` as the critic sees them: smoothed, then noised with
        std ``sigma`` in log space (`chargan.core.smoothing`); unchanged without ``real_smoothing``.

        The noise is drawn for the global batch from the run's stream and sharded, as the fakes' noise is.
        """
        if self.config.real_smoothing == 0:
            return real
        real = smooth_one_hots(real, self.config.real_smoothing)
        if sigma == 0:
            return real  # no draw: the stream stays as a run without noise leaves it
        noise = torch.randn((self.config.batch_size, *real.shape[1:]), device=self.device, generator=self.rng)
        return noisy_rows(real, sigma, noise[self.critic_rows])

    # ------------------------------------------------------------------ updates
    def critic_step(self) -> dict[str, Tensor]:
        """One critic update; returns ``{objective.estimate, "gradient_penalty", "grad_norm"}``."""
        return self.critic_steps(1)[0]

    def critic_steps(self, steps: int) -> list[dict[str, Tensor]]:
        """``steps`` critic updates (`critic_step`'s values for each).

        The generator does not change during them, so all their fakes come
        from one generator call (one large batch runs faster than ``steps``
        small ones), unless it has batch norm (whose statistics would then
        span the steps). Noise and interpolation weights are drawn in the
        order single steps draw them, so the result is the same.
        """
        batch = self.config.batch_size  # global rows; this rank computes self.critic_rows of them
        rows = self.critic_rows
        reals = [self.data.sample(rows.stop - rows.start).to(self.device) for _ in range(steps)]
        noise: list[Tensor] = []
        weights: list[Tensor | None] = []
        penalized = self.objective.penalty is not None
        for i, real in enumerate(reals):
            noise.append(self.noise(batch)[rows])
            # eps drawn for the global batch, as `interpolate` draws it in one process.
            weights.append(interpolation_weights(batch, real, self.rng)[rows] if penalized else None)
            reals[i] = self.real_rows(real, self.real_noise)
        with torch.no_grad(), self.autocast():
            if self.generator_per_row:
                fakes = self.generator_for_fakes(torch.cat(noise)).split(len(noise[0]))
            else:  # batch norm: each step's fakes are normalized over that step's batch alone
                fakes = [self.generator_for_fakes(z) for z in noise]
        # autocast may hand back bfloat16 fakes
        return [self._critic_update(real, fake.to(real.dtype), eps) for real, fake, eps in zip(reals, fakes, weights)]

    def _critic_update(self, real: Tensor, fake: Tensor, eps: Tensor | None) -> dict[str, Tensor]:
        if self.config.cuda_graphs:
            torch.compiler.cudagraph_mark_step_begin()  # each critic step is one replay (forward and backward)
        with self.autocast():
            loss, penalty, grad_norm = self.critic_loss(real, fake, eps)
        if self.config.cuda_graphs:  # the next replay overwrites the graph's outputs: keep copies
            loss, penalty, grad_norm = loss.clone(), penalty.clone(), grad_norm.clone()
        self.critic_optimizer.zero_grad(set_to_none=True)
        (loss + penalty).backward()
        self.critic_optimizer.step()
        if self.objective.weight_clip:
            with torch.no_grad():
                for p in self.critic.parameters():
                    p.clamp_(-self.config.clip_value, self.config.clip_value)
        # The negated critic loss, penalty left out, named for what it estimates under this objective.
        return {self.objective.estimate: -loss.detach(), "gradient_penalty": penalty.detach(), "grad_norm": grad_norm}

    def generator_step(self) -> Tensor:
        """One generator update (just the loss, for a fixed generator); returns the detached loss."""
        batch = self.config.generator_batch_size or self.config.batch_size
        z = self.noise(batch)[self.generator_rows]
        if self.generator_optimizer is None:
            with torch.no_grad(), self.autocast():
                return self.generator_loss(z)
        self.critic.requires_grad_(False)  # no critic weight gradients needed here
        try:
            with self.autocast():
                loss = self.generator_loss(z)
            self.generator_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.generator_optimizer.step()
        finally:
            self.critic.requires_grad_(True)
        return loss.detach()

    def train_iteration(self, iteration: int) -> dict[str, Tensor]:
        """Generator iteration ``iteration`` (0-based): ``critic_iters`` critic steps and one generator step.

        Returns the critic steps' mean ``objective.estimate``, ``gradient_penalty``
        and ``grad_norm``, then ``critic_loss`` (= penalty - estimate) and
        ``generator_loss``; values stay on the device.
        """
        self.generator.train()
        self.critic.train()
        config = self.config
        if config.lr_decay != "none":
            # A function of the iteration alone: a resumed run continues the same schedule.
            for optimizer, base in ((self.critic_optimizer, config.critic_learning_rate),
                                    (self.generator_optimizer, config.generator_learning_rate)):
                for group in optimizer.param_groups if optimizer is not None else ():
                    group["lr"] = self.learning_rate(iteration, base)
        # Also a function of the iteration alone, so a resumed run continues the same anneal.
        self.real_noise = annealed_sigma(config.real_noise, iteration, config.noise_anneal_horizon)
        critic_stats = self.critic_steps(config.critic_iters)
        stats = {k: torch.stack([s[k] for s in critic_stats]).mean() for k in critic_stats[0]}
        stats["critic_loss"] = stats["gradient_penalty"] - stats[self.objective.estimate]
        stats["generator_loss"] = self.generator_step()
        if config.real_noise > 0:  # logged, so the anneal is visible in metrics.jsonl
            # A fill, not torch.tensor: that copies from host memory, which on CUDA waits for the queue.
            stats["real_noise"] = torch.full((), float(self.real_noise), dtype=torch.float32, device=self.device)
        return stats

    # -------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """The optimizers' and the noise stream's state (a checkpoint's ``state.pt``)."""
        return {
            "generator_optimizer": None if self.generator_optimizer is None else self.generator_optimizer.state_dict(),
            "critic_optimizer": self.critic_optimizer.state_dict(),
            "rng": self.rng.get_state(),
        }

    def load_optimizers(self, state: dict[str, Any]) -> None:
        """Load `state_dict`'s optimizer states, keeping this run's fused/foreach kernels (a speed option)."""
        for optimizer, key in ((self.generator_optimizer, "generator_optimizer"), (self.critic_optimizer, "critic_optimizer")):
            if optimizer is not None:
                kernels = _kernels(optimizer)
                optimizer.load_state_dict(state[key])
                _keep_kernels(optimizer, kernels)

    def load_rng(self, state: dict[str, Any], iteration: int) -> bool:
        """Restore the noise stream; False when it had to be reseeded (saved on another device type)."""
        try:
            self.rng.set_state(state["rng"])
            return True
        except (KeyError, RuntimeError):
            # A CPU generator state does not fit a CUDA generator (or vice versa): the run
            # continues on a new device, with a fresh but deterministic noise stream.
            self.rng.manual_seed(self.config.seed + iteration)
            return False


def _trainable(module: nn.Module) -> bool:
    return any(p.requires_grad for p in module.parameters())


def _optimizer(config: TrainConfig, module: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam or RMSprop at step size ``lr``; with ``fused_optimizer``, fused kernels where torch has them, else foreach.

    torch 2.13 has fused Adam on CPU and CUDA, and no fused RMSprop (TypeError):
    that falls back to the foreach (multi-tensor) kernels, as does any device
    the fused kernels refuse (RuntimeError).
    """
    cls, settings = (torch.optim.RMSprop, {"lr": lr}) if config.optimizer == "rmsprop" else (
        torch.optim.Adam, {"lr": lr, "betas": config.betas})
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


def _compile(module: nn.Module, mode: str | None = None) -> Callable[..., Any]:
    # COMPILE_BACKEND is read at call time, so tests can swap in a lighter backend (which takes no mode).
    if mode is None:
        return torch.compile(module, backend=COMPILE_BACKEND)
    return torch.compile(module, backend=COMPILE_BACKEND, mode=mode)
