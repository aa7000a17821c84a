"""The image family: the paper's MNIST and CIFAR-10 GANs on the one GAN core.

The contract (`chargan.core.family.Family`): `Config`, the named configs of
`chargan.image.config.IMAGE_CONFIGS` (DCGAN-style for MNIST 28x28 and
CIFAR-10 32x32, the ResNet of the paper's Table 3), and ``prepare``,
``run_prefix``, ``build``, ``generator``, ``sample``, ``evaluate`` from
`chargan.image.family`. `chargan.image.models` holds the networks,
`chargan.image.grid` the PNG sample grids, `chargan.image.inception` the
Inception Score and FID.
"""

from chargan.core.family import CONTRACT_FUNCTIONS, contract_loader
from chargan.image.config import DESCRIPTIONS
from chargan.image.config import IMAGE_CONFIGS as CONFIGS
from chargan.image.config import ImageGANConfig as Config

NAME = "image"
DESCRIPTION = "DCGAN and ResNet image GANs (the reference gan_mnist.py, gan_cifar.py, gan_cifar_resnet.py)"
HEADLINE = "fid"  # the metric the progress bar and `chargan runs` show (logged only with Inception weights)
# The torch side of the contract loads on first use: `chargan --help` and `chargan configs` stay light.
__getattr__ = contract_loader("chargan.image.family")
__all__ = ["NAME", "DESCRIPTION", "HEADLINE", "Config", "CONFIGS", "DESCRIPTIONS", *CONTRACT_FUNCTIONS]
