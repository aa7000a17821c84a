"""chargan: WGAN-GP for discrete sequences.

The generic GAN core (`Trainer`, `gradient_penalty`, the objectives, the
checkpointed run directory), the family registry (`train`, `load_run`,
`sample`, `evaluate` for any family) and the character-level language model
of Gulrajani et al. (2017): `ConvGenerator` and the relaxed `ConvCritic` over
``(batch, seq_len, vocab)`` distributions, corpora, and n-gram evaluation.

The exported names are listed once, in ``__init__.pyi``; each is imported on
first use, so ``import chargan.corpora`` and ``chargan --help`` do not pay for
importing torch.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)

__version__ = "0.1.0"
