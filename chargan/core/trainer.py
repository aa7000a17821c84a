"""The one training loop: n_critic critic steps, then one generator step, and callbacks around them.

It knows nothing of text or images: it sees a generator ``z -> x``, a critic
``x -> score`` (``(batch, ...) -> (batch,)``), a source of real batches of the
same shape as ``x``, an optional evaluator (`Evaluator`) and a list of
`chargan.core.callbacks.Callback`. The math of an iteration is
`chargan.core.steps.Steps`; what is written where (metrics, plots,
checkpoints, TensorBoard, the progress bar) is the callbacks'.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from chargan.core import distributed
from chargan.core.callbacks import Callback, Checkpoints, Evaluator, MetricsFile, MetricsPlot, TrainResult
from chargan.core.checkpoint import latest_checkpoint, load_checkpoint, non_finite, save_checkpoint
from chargan.core.config import TrainConfig
from chargan.core.data import BatchSource
from chargan.core.ema import GeneratorAverage
from chargan.core.guard import check_guard
from chargan.core.progress import ProgressBar, progress_echo
from chargan.core.run import RunDirectory
from chargan.core.steps import Steps
from chargan.core.stop_signals import StopSignals
from chargan.core.tensorboard import TENSORBOARD_DIR, TensorBoard
from chargan.errors import TrainingDiverged, UserError

__all__ = ["Evaluator", "TrainConfig", "TrainResult", "Trainer", "default_callbacks", "progress_echo"]


class Trainer:
    """Trains ``generator`` against ``critic`` on batches from ``data``.

    Shapes: ``generator(z)`` with ``z`` ``(batch, latent_dim)`` returns
    ``(batch, ...)``, the shape of ``data.sample(batch)``; ``critic`` maps that
    to ``(batch,)`` scores. The critic must score each example independently
    (no batch normalization): the penalty is per example.

    ``callbacks`` run after `default_callbacks` (and before the checkpoints, so
    a checkpoint holds their state of that iteration); ``trainer.callbacks``
    is the whole list, which may be edited before `fit`. With a ``run``, the
    defaults log to ``metrics.jsonl``, refresh ``plots/metrics.png``, write
    TensorBoard events (``config.tensorboard``), and checkpoint every
    ``checkpoint_every`` iterations, at the end and on Ctrl-C / SIGTERM;
    `resume` continues bit-for-bit where it stopped. ``guard`` is a JSON-able
    description of everything that must not change across a resume (the
    model and optimization settings).

    The math, the speed options (fused optimizers, bf16 autocast,
    ``torch.compile``) and data parallelism (torchrun: ``batch_size`` is the
    global batch, N ranks train what one process trains) are
    `chargan.core.steps.Steps`'s: ``trainer.steps``. Under torchrun rank 0
    alone logs and checkpoints, and a checkpoint resumes on any number of
    ranks. Evaluation runs on rank 0, or on every rank for an evaluator with
    ``across_ranks = True`` (each generates its share of the samples, rank 0
    writes them).
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
        callbacks: list[Callback] | None = None,
    ) -> None:
        config.validate()
        self.config = config
        self.steps = Steps(generator, critic, data, config, latent_dim)
        self.data = data
        self.run = run
        self.evaluate = evaluate
        self.guard = guard if guard is not None else {"train": config.guard()}
        self.is_main = distributed.is_main_process()
        self.progress = progress and self.is_main
        self.echo = echo if self.is_main else _silent
        self.iteration = 0
        self.seconds = 0.0
        self.stop_signal: str | None = None  # set by SIGINT/SIGTERM: stop at the next iteration boundary
        self.callbacks = default_callbacks(config, run, self.steps.generator)
        # The user's after the defaults but before the checkpoints, which save their state of the iteration.
        at = len(self.callbacks) - isinstance(self.callbacks[-1], Checkpoints)
        self.callbacks[at:at] = list(callbacks or [])
        self._last_eval: dict[str, float] = {}
        self._last_eval_iteration: int | None = None
        # The iterations' statistics since the last record: kept in checkpoints, so that a resumed run's first
        # record averages the same iterations as the uninterrupted run's.
        self._pending: list[dict[str, Tensor]] = []

    # -------------------------------------------------- the steps, seen from here
    generator = property(lambda self: self.steps.generator, doc="The generator (plain module, on the device).")
    critic = property(lambda self: self.steps.critic, doc="The critic (plain module, on the device).")
    device = property(lambda self: self.steps.device, doc="This rank's device.")
    objective = property(lambda self: self.steps.objective, doc="The `Objective` of ``config.objective``.")
    latent_dim = property(lambda self: self.steps.latent_dim, doc="Width of the generator's noise.")
    distributed = property(lambda self: self.steps.distributed, doc="True under torchrun with several ranks.")
    rng = property(lambda self: self.steps.rng, doc="The noise stream (identical on every rank).")

    @property
    def generator_optimizer(self) -> torch.optim.Optimizer | None:
        """None for a generator without trainable parameters (held fixed)."""
        return self.steps.generator_optimizer

    @generator_optimizer.setter
    def generator_optimizer(self, optimizer: torch.optim.Optimizer | None) -> None:
        self.steps.generator_optimizer = optimizer

    @property
    def critic_optimizer(self) -> torch.optim.Optimizer:
        return self.steps.critic_optimizer

    @critic_optimizer.setter
    def critic_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        self.steps.critic_optimizer = optimizer

    def noise(self, batch_size: int) -> Tensor:
        """``(batch_size, latent_dim)`` standard normal noise from the run's stream."""
        return self.steps.noise(batch_size)

    def critic_step(self) -> dict[str, Tensor]:
        """One critic update: detached ``objective.estimate``, ``gradient_penalty``, ``grad_norm`` (this rank's)."""
        return self.steps.critic_step()

    def critic_steps(self, steps: int) -> list[dict[str, Tensor]]:
        """``steps`` critic updates, their fakes from one generator call (see `Steps.critic_steps`)."""
        return self.steps.critic_steps(steps)

    def generator_step(self) -> Tensor:
        """One generator update; returns the detached loss."""
        return self.steps.generator_step()

    def learning_rate(self, iteration: int) -> float:
        """The step size of generator iteration ``iteration`` (0-based) under ``lr_decay``."""
        return self.steps.learning_rate(iteration)

    def train_iteration(self) -> dict[str, Tensor]:
        """``critic_iters`` critic steps and one generator step (`Steps.train_iteration`); counts the iteration."""
        stats = self.steps.train_iteration(self.iteration)
        self.iteration += 1
        return stats

    # ----------------------------------------------------------------- the loop
    def fit(self) -> TrainResult:
        """Train until ``config.iterations`` generator iterations are done, or a stop signal.

        Under torchrun every rank runs this loop in step; rank 0 alone logs and
        checkpoints, and evaluates unless the evaluator splits its sampling over
        the ranks (the others wait for it in the next gradient reduction).
        """
        self._notify("on_fit_start")
        result: TrainResult | None = None
        try:
            with StopSignals(self):
                result = self._loop()
                # Inside the signal guard: a second SIGTERM cannot cut the last checkpoint short.
                self._notify("on_fit_end", result)
        except BaseException:
            if result is None:  # an error or a second Ctrl-C in the loop: callbacks still close their files
                self._notify("on_fit_end", None)
            raise
        distributed.barrier()  # the last checkpoint is complete before any rank returns
        return result

    def _loop(self) -> TrainResult:
        cfg = self.config
        pending = self._pending
        # Every rank takes part in an evaluation that splits its sampling over them; else rank 0 alone.
        evaluates_here = self.evaluate is not None and (self.is_main or getattr(self.evaluate, "across_ranks", False))
        if self.iteration == 0 and evaluates_here:
            first = self._run_evaluation()
            if self.is_main:
                self._notify("on_log", {"iteration": 0, **first})
        # since_log: the first iteration the next record averages; timed_from: the first this process timed.
        started, since_log, timed_from = time.perf_counter(), self.iteration - len(pending), self.iteration
        record: dict[str, Any] = {}
        while self.iteration < cfg.iterations and not self._stop_requested():
            pending.append(self.train_iteration())
            self._notify("on_step_end")
            it = self.iteration
            # The same decision on every rank (each takes part in the reduction below).
            eval_due = self.evaluate is not None and (it % cfg.eval_every == 0 or it == cfg.iterations)
            if it % cfg.log_every == 0 or eval_due or it == cfg.iterations:
                now = time.perf_counter()
                self.seconds += now - started
                # One host sync per logged interval, not per step (and one reduction over ranks).
                means = distributed.all_mean(torch.stack([torch.stack(list(p.values())) for p in pending]).mean(0))
                record = {"iteration": it, **dict(zip(pending[0].keys(), means.tolist())), "seconds": round(self.seconds, 3),
                          "it_per_sec": (it - timed_from) / max(now - started, 1e-9)}
                pending.clear()
                if eval_due and evaluates_here:
                    record.update(self._run_evaluation())
                if self.is_main:
                    self._notify("on_log", record)
                _check_finite(record, since_log)  # values already on the host: no cost per iteration
                started, since_log, timed_from = time.perf_counter(), it, it
            self._notify("on_iteration_end")
        if self.stop_signal is not None:
            self.seconds += time.perf_counter() - started
        return TrainResult(self.iteration, self.stop_signal is not None, {**record, **self._last_eval},
                           self._last_eval_iteration)

    def _notify(self, hook: str, *args: Any) -> None:
        """Call ``hook(self, *args)`` on every callback, in order."""
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def _stop_requested(self) -> bool:
        """A stop signal seen by this process (by any rank, under torchrun: all stop at the same iteration)."""
        if not self.distributed:
            return self.stop_signal is not None
        if distributed.any_rank(self.stop_signal is not None, self.device) and self.stop_signal is None:
            self.stop_signal = "SIGTERM (another rank)"
        return self.stop_signal is not None

    def evaluate_generator(self, generator: nn.Module) -> dict[str, float]:
        """The evaluator's metrics of ``generator`` at this iteration, in eval mode and without gradients."""
        assert self.evaluate is not None
        was_training = generator.training
        generator.eval()
        try:
            with torch.no_grad():
                return self.evaluate(generator, self.iteration)
        finally:
            generator.train(was_training)

    def _run_evaluation(self) -> dict[str, float]:
        """The evaluator on the generator the callbacks choose (the trained one by default), in eval mode."""
        generator = self.generator
        for callback in self.callbacks:
            generator = callback.evaluation_generator(self, generator)
        metrics = self.evaluate_generator(generator)
        for callback in self.callbacks:  # a weight average adds the raw generator's figures
            metrics = callback.evaluation_metrics(self, metrics)
        self._last_eval, self._last_eval_iteration = dict(metrics), self.iteration
        if self.is_main:
            self._notify("on_evaluation", self.iteration, metrics)
        return metrics

    # -------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        """A checkpoint's ``state.pt``: optimizers, noise stream and (only if any has some) callback state."""
        state = self.steps.state_dict()
        callbacks = _callback_states(self.callbacks)
        if callbacks:
            state["callbacks"] = callbacks
        if self._pending:  # a stop between records: the next record's first iterations
            state["pending"] = {"keys": list(self._pending[0]),
                                "values": torch.stack([torch.stack(list(p.values())) for p in self._pending]).cpu()}
        return state

    def save(self) -> None:
        """Checkpoint the current iteration into the run directory (rank 0 only, under torchrun).

        The weights are the plain modules' (no DDP prefix), and the noise and data
        streams are global (identical on every rank): a run resumes on any number of ranks.
        """
        if self.run is None:
            raise RuntimeError("this trainer has no run directory to save into")
        modules = {"generator": self.generator, "critic": self.critic, **_callback_modules(self.callbacks)}
        bad = [b for module in modules.values() for b in non_finite(module)]  # on every rank: they stop together
        if bad:
            raise TrainingDiverged(f"training diverged by iteration {self.iteration}: weight {bad[0]} is not finite; "
                                   f"no checkpoint was written", hint=_DIVERGED_HINT)
        if not self.is_main:
            return
        save_checkpoint(
            self.run.checkpoints_dir,
            self.iteration,
            modules,
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
        stateful = _callback_states(self.callbacks)
        # Optimizer state loads on the CPU: load_state_dict moves it next to the parameters.
        ckpt = load_checkpoint(self.run.checkpoints_dir, map_location="cpu")
        check_guard(ckpt.meta.get("guard"), self.guard, f"checkpoint {ckpt.path}",
                    hint="resume without changing the model or optimizer settings, or start a new run with --run")
        try:
            # A module without parameters or buffers has no entries in the weights file.
            self.generator.load_state_dict(ckpt.weights.get("generator", {}))
            self.critic.load_state_dict(ckpt.weights["critic"])
            self.steps.load_optimizers(ckpt.state)  # the speed options may change: keeps this run's kernels
            self.data.load_state_dict(ckpt.meta["data"])
            for name, module in _callback_modules(self.callbacks).items():
                if name in ckpt.weights:
                    module.load_state_dict(ckpt.weights[name])
                else:
                    self.echo(f"note: the checkpoint holds no {name} weights; they start from the generator's")
            saved = ckpt.state.get("callbacks", {})
            for callback in self.callbacks:
                if callback.state_key in saved:
                    callback.load_state_dict(saved[callback.state_key])
                elif callback.state_key in stateful:
                    self.echo(f"note: the checkpoint holds no state for {callback.state_key}; it starts afresh")
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise UserError(f"checkpoint {ckpt.path} does not fit this model or is incomplete: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        if not self.steps.load_rng(ckpt.state, ckpt.iteration):
            self.echo("note: the checkpoint's noise state is from another device type; the noise stream was reseeded")
        self.iteration = ckpt.iteration
        self.seconds = float(ckpt.meta.get("seconds", 0.0))
        pending = ckpt.state.get("pending")
        self._pending[:] = ([dict(zip(pending["keys"], row.to(self.device).unbind())) for row in pending["values"]]
                            if pending else [])
        self.run.truncate_metrics(self.iteration)
        return True


_DIVERGED_HINT = ("start a new run with a lower --lr (or another --objective / --lambda-gp); any checkpoint the run "
                  "has is from before the divergence and loads as it was")


def _check_finite(record: dict[str, Any], since: int) -> None:
    """`TrainingDiverged` naming the first quantity of a logged record that is not finite."""
    bad = [key for key, value in record.items() if isinstance(value, float) and not math.isfinite(value)]
    if bad:
        raise TrainingDiverged(f"training diverged at iteration {record['iteration']}: {', '.join(bad)} "
                               f"{'is' if len(bad) == 1 else 'are'} not finite (averaged since iteration {since})",
                               hint=_DIVERGED_HINT)


def default_callbacks(config: TrainConfig, run: RunDirectory | None,
                      generator: nn.Module | None = None) -> list[Callback]:
    """The progress bar; the generator's weight average (``config.ema_decay`` above 0); with a run, also the
    metrics file, the plot, TensorBoard (``config.tensorboard``) and the checkpoints, last (they save the
    state the others hold at that iteration)."""
    callbacks: list[Callback] = [ProgressBar()]
    if config.ema_decay > 0 and generator is not None:
        callbacks.insert(0, GeneratorAverage(generator, config.ema_decay, config.ema_warmup))
    if run is None:
        return callbacks
    callbacks[:0] = [MetricsFile(run), MetricsPlot(run)]  # the plot reads the file the first one writes
    if config.tensorboard:
        callbacks.append(TensorBoard(run.root / TENSORBOARD_DIR))
    callbacks.append(Checkpoints())
    return callbacks


def _callback_modules(callbacks: list[Callback]) -> dict[str, nn.Module]:
    """The modules the callbacks keep in checkpoints, by name (a clash with another's is a bug, raised here)."""
    modules: dict[str, nn.Module] = {}
    for callback in callbacks:
        for name, module in callback.modules().items():
            if name in modules or name in ("generator", "critic"):
                raise ValueError(f"two modules would be saved as {name!r}: give one another name")
            modules[name] = module
    return modules


def _callback_states(callbacks: list[Callback]) -> dict[str, dict[str, Any]]:
    """Each callback's non-empty state by its ``state_key`` (two with one key would overwrite each other)."""
    states: dict[str, dict[str, Any]] = {}
    for callback in callbacks:
        state = callback.state_dict()
        if state and callback.state_key in states:
            raise ValueError(f"two callbacks with state share the state_key {callback.state_key!r}: give one another")
        if state:
            states[callback.state_key] = state
    return states


def _silent(message: str) -> None:
    """The echo of ranks other than 0: one process speaks for the group."""
