"""Every named config, by family: what ``chargan train --config NAME`` selects and ``chargan configs`` lists.

A family (``text``, ``toy``, ...) names where its configs and its train
function live, as ``"module:attribute"`` strings resolved on first use, so
listing the configs imports no family code. Each train function has one
signature: ``train(config, run_dir=None, *, resume=False, runs_root="runs",
progress=True, download=True, echo=print)``; a run's family is recorded in its
``config.json`` (``"family"``; a run without it is a language run).

To add a family, add one `Family` (the ``image`` entry below is the pattern)
and one ``_add(family, name, description)`` per config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chargan.errors import UserError


@dataclass(frozen=True)
class Family:
    """A family of configs and the functions that act on them, each a ``"module:function"`` string.

    ``get_config(name) -> config``; ``train`` has the shared train signature;
    ``load_run_config(run_dir) -> config`` reads a run's resolved config;
    ``with_overrides(config, **flat) -> config`` applies flat settings such as
    ``lr=1e-3`` (None values ignored); ``override_names() -> set[str]`` lists
    the flat names it accepts (the CLI refuses other families' flags with them).
    """

    name: str
    description: str
    get_config: str
    train: str
    load_run_config: str
    with_overrides: str
    override_names: str

    def function(self, role: str) -> Callable[..., Any]:
        """The function of ``role`` (a field name: ``"train"``, ``"with_overrides"``, ...), imported now."""
        return _resolve(getattr(self, role))


@dataclass(frozen=True)
class NamedConfig:
    """One selectable config."""

    name: str
    family: str
    description: str

    def load(self) -> Any:
        """The frozen config object (imports the family's code)."""
        return FAMILIES[self.family].function("get_config")(self.name)


def _resolve(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


FAMILIES: dict[str, Family] = {
    "text": Family("text", "the character-level language model (paper section 5.5)",
                   get_config="chargan.text.config:get_preset", train="chargan.text.pipeline:train_language_model",
                   load_run_config="chargan.text.pipeline:load_run_config",
                   with_overrides="chargan.text.config:with_overrides",
                   override_names="chargan.text.config:override_names"),
    "toy": Family("toy", "2-D toy distributions, ReLU MLP generator and critic (the reference gan_toy.py)",
                  get_config="chargan.toy.config:get_toy_config", train="chargan.toy.pipeline:train_toy_model",
                  load_run_config="chargan.toy.pipeline:load_toy_config",
                  with_overrides="chargan.toy.config:with_toy_overrides",
                  override_names="chargan.toy.config:toy_override_names"),
    "image": Family("image", "DCGAN and ResNet image GANs (the reference gan_mnist.py, gan_cifar.py, gan_cifar_resnet.py)",
                    get_config="chargan.image.config:get_image_config", train="chargan.image.pipeline:train_image_model",
                    load_run_config="chargan.image.pipeline:load_run_config",
                    with_overrides="chargan.image.config:with_overrides",
                    override_names="chargan.image.config:image_override_names"),
}


CONFIGS: dict[str, NamedConfig] = {}


def _add(family: str, name: str, description: str) -> None:
    CONFIGS[name] = NamedConfig(name, family, description)


_add("text", "cpu", "small language model that learns visibly on a laptop CPU in minutes")
_add("text", "paper", "the reference gan_language.py: DIM 512, 10 critic steps, 200k iterations")
_add("text", "paper-alg1", "as paper, with Algorithm 1's defaults: n_critic 5, beta1 0")
_add("toy", "8gaussians", "8 Gaussians on a circle; WGAN-GP, MLPs 512 wide, batch 256, lambda 0.1")
_add("toy", "25gaussians", "25 Gaussians on a 5x5 grid; as 8gaussians")
_add("toy", "swissroll", "a 2-D Swiss roll; as 8gaussians")
_add("image", "mnist", "MNIST 28x28, DCGAN-style generator and critic (gan_mnist.py), batch 50")
_add("image", "cifar10", "CIFAR-10 32x32, DCGAN-style generator and critic (gan_cifar.py), batch 64")
_add("image", "cifar10-resnet", "CIFAR-10, the ResNet generator and critic of Table 3 (gan_cifar_resnet.py)")
_add("image", "cifar10-resnet-ln", "as cifar10-resnet, with layer norm in the critic")

DEFAULT_CONFIG = "cpu"


def get_named_config(name: str, option: str = "config") -> NamedConfig:
    """The registry entry of ``name``; `UserError` listing the names for an unknown one."""
    try:
        return CONFIGS[name]
    except KeyError:
        raise UserError(f"unknown {option} {name!r}", hint=f"choose one of: {', '.join(CONFIGS)} (see `chargan configs`)") from None


def configs_by_family() -> dict[str, list[NamedConfig]]:
    """The named configs grouped by family, families in registry order."""
    grouped: dict[str, list[NamedConfig]] = {family: [] for family in FAMILIES}
    for entry in CONFIGS.values():
        grouped[entry.family].append(entry)
    return grouped


def run_family(run_dir: str | Path) -> str:
    """The family of a run directory, from its ``config.json`` (``text`` when it does not say)."""
    from chargan.core.run import RunDirectory

    saved = RunDirectory(run_dir).read_config()
    if not isinstance(saved, dict):
        raise UserError(f"run {run_dir} has a config.json that is not a chargan configuration",
                        hint="it should be the JSON object chargan wrote; restore it or start a new run")
    family = saved.get("family", "text")
    if family not in FAMILIES:
        raise UserError(f"run {run_dir} is of family {family!r}, which this version of chargan does not know")
    return str(family)
