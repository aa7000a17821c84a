"""The paper's 2-D toy GANs (``gan_toy.py``), as a chargan family.

The contract (`chargan.core.family.Family`): `Config`, the named configs,
and ``prepare``, ``run_prefix``, ``build``, ``generator``, ``sample``,
``evaluate`` from `chargan.toy.family`.
"""

from chargan.core.family import CONTRACT_FUNCTIONS, contract_loader
from chargan.toy.config import DESCRIPTIONS
from chargan.toy.config import TOY_CONFIGS as CONFIGS
from chargan.toy.config import ToyGANConfig as Config

NAME = "toy"
DESCRIPTION = "2-D toy distributions, ReLU MLP generator and critic (the reference gan_toy.py)"
HEADLINE = "w1"  # the metric the progress bar and `chargan runs` show: Wasserstein-1 to the real points
# The torch side of the contract loads on first use: `chargan --help` and `chargan configs` stay light.
__getattr__ = contract_loader("chargan.toy.family")
__all__ = ["NAME", "DESCRIPTION", "HEADLINE", "Config", "CONFIGS", "DESCRIPTIONS", *CONTRACT_FUNCTIONS]
