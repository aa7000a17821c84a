"""The character-level GAN language model of Gulrajani et al. (2017, section 5.5), as a chargan family.

The contract (`chargan.core.family.Family`): `Config`, the named configs,
and ``prepare``, ``run_prefix``, ``build``, ``generator``, ``sample``,
``evaluate`` from `chargan.text.family`.
"""

from chargan.core.family import CONTRACT_FUNCTIONS, contract_loader
from chargan.text.config import DESCRIPTIONS, PRESETS
from chargan.text.config import LanguageGANConfig as Config

NAME = "text"
DESCRIPTION = "the character-level language model (paper section 5.5)"
HEADLINE = "js4"  # the metric the progress bar and `chargan runs` show: n-gram JS divergence, order 4
CONFIGS = PRESETS
# The torch side of the contract loads on first use: `chargan --help` and `chargan configs` stay light.
__getattr__ = contract_loader("chargan.text.family")
__all__ = ["NAME", "DESCRIPTION", "HEADLINE", "Config", "CONFIGS", "DESCRIPTIONS", *CONTRACT_FUNCTIONS]
