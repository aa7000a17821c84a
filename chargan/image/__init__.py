"""The image family: the paper's MNIST and CIFAR-10 GANs on the one GAN core.

`chargan.image.pipeline.train_image_model` trains a named config of
`chargan.image.config.IMAGE_CONFIGS` (DCGAN-style for MNIST 28x28 and
CIFAR-10 32x32, the ResNet of the paper's Table 3) with
`chargan.core.trainer.Trainer`; `chargan.image.models` holds the networks,
`chargan.image.grid` the PNG sample grids, `chargan.image.inception` the
Inception Score and FID.
"""
