"""chargan: WGAN-GP for discrete sequences.

The generic GAN core (`Trainer`, `gradient_penalty`, the objectives, the
checkpointed run directory) plus the character-level language model of
Gulrajani et al. (2017): `ConvGenerator` and the relaxed `ConvCritic` over
``(batch, seq_len, vocab)`` distributions, corpora, and n-gram evaluation.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so `import chargan.corpora` and
# `chargan --help` do not pay for importing torch.
_EXPORTS = {
    "BatchSource": "chargan.core.data",
    "RowSampler": "chargan.core.data",
    "resolve_device": "chargan.core.device",
    "OBJECTIVES": "chargan.core.objectives",
    "Objective": "chargan.core.objectives",
    "wasserstein_critic_loss": "chargan.core.objectives",
    "wasserstein_generator_loss": "chargan.core.objectives",
    "CriticLoss": "chargan.core.losses",
    "gradient_norms": "chargan.core.penalty",
    "gradient_penalty": "chargan.core.penalty",
    "interpolate": "chargan.core.penalty",
    "penalty_relu": "chargan.core.activations",
    "penalty_leaky_relu": "chargan.core.activations",
    "PenaltyReLU": "chargan.core.activations",
    "PenaltyLeakyReLU": "chargan.core.activations",
    "RunDirectory": "chargan.core.run",
    "Trainer": "chargan.core.trainer",
    "TrainConfig": "chargan.core.trainer",
    "TrainResult": "chargan.core.trainer",
    "UserError": "chargan.errors",
    "init_from_env": "chargan.core.distributed",
    "is_main_process": "chargan.core.distributed",
    "PRESETS": "chargan.text.config",
    "DataConfig": "chargan.text.config",
    "EvalConfig": "chargan.text.config",
    "LanguageGANConfig": "chargan.text.config",
    "ModelConfig": "chargan.text.config",
    "get_preset": "chargan.text.config",
    "ConvCritic": "chargan.text.models",
    "ConvGenerator": "chargan.text.models",
    "ResBlock1d": "chargan.text.models",
    "NgramStats": "chargan.text.ngrams",
    "js_divergence": "chargan.text.ngrams",
    "ngram_js": "chargan.text.ngrams",
    "ngram_stats": "chargan.text.ngrams",
    "evaluate_run": "chargan.text.pipeline",
    "load_generator": "chargan.text.pipeline",
    "sample_text": "chargan.text.pipeline",
    "train_language_model": "chargan.text.pipeline",
    "SubwordVocabulary": "chargan.text.subword",
    "Vocabulary": "chargan.text.vocab",
    "EncodedCorpus": "chargan.corpora",
    "load_corpus": "chargan.corpora",
    # every named config, by family
    "CONFIGS": "chargan.configs",
    "get_named_config": "chargan.configs",
    # the toy 2-D family
    "ToyGANConfig": "chargan.toy.config",
    "TOY_CONFIGS": "chargan.toy.config",
    "get_toy_config": "chargan.toy.config",
    "ToyGenerator": "chargan.toy.models",
    "ToyCritic": "chargan.toy.models",
    "FixedGenerator": "chargan.toy.models",
    "mode_coverage": "chargan.toy.metrics",
    "wasserstein1": "chargan.toy.metrics",
    "train_toy_model": "chargan.toy.pipeline",
    # the image family
    "ImageGANConfig": "chargan.image.config",
    "IMAGE_CONFIGS": "chargan.image.config",
    "get_image_config": "chargan.image.config",
    "DCGANGenerator": "chargan.image.models",
    "DCGANCritic": "chargan.image.models",
    "ResNetGenerator": "chargan.image.models",
    "ResNetCritic": "chargan.image.models",
    "frechet_distance": "chargan.image.inception",
    "inception_score": "chargan.image.inception",
    "train_image_model": "chargan.image.pipeline",
    "sample_image_grid": "chargan.image.pipeline",
}

if TYPE_CHECKING:  # what static tools and IDEs see
    from chargan.core.data import BatchSource, RowSampler
    from chargan.core.device import resolve_device
    from chargan.core.distributed import init_from_env, is_main_process
    from chargan.core.objectives import OBJECTIVES, Objective, wasserstein_critic_loss, wasserstein_generator_loss
    from chargan.core.activations import PenaltyLeakyReLU, PenaltyReLU, penalty_leaky_relu, penalty_relu
    from chargan.core.losses import CriticLoss
    from chargan.core.penalty import gradient_norms, gradient_penalty, interpolate
    from chargan.core.run import RunDirectory
    from chargan.core.trainer import Trainer, TrainConfig, TrainResult
    from chargan.corpora import EncodedCorpus, load_corpus
    from chargan.errors import UserError
    from chargan.text.config import PRESETS, DataConfig, EvalConfig, LanguageGANConfig, ModelConfig, get_preset
    from chargan.text.models import ConvCritic, ConvGenerator, ResBlock1d
    from chargan.text.ngrams import NgramStats, js_divergence, ngram_js, ngram_stats
    from chargan.text.pipeline import evaluate_run, load_generator, sample_text, train_language_model
    from chargan.text.subword import SubwordVocabulary
    from chargan.text.vocab import Vocabulary
    from chargan.configs import CONFIGS, get_named_config
    from chargan.image.config import IMAGE_CONFIGS, ImageGANConfig, get_image_config
    from chargan.image.inception import frechet_distance, inception_score
    from chargan.image.models import DCGANCritic, DCGANGenerator, ResNetCritic, ResNetGenerator
    from chargan.image.pipeline import sample_image_grid, train_image_model
    from chargan.toy.config import TOY_CONFIGS, ToyGANConfig, get_toy_config
    from chargan.toy.metrics import mode_coverage, wasserstein1
    from chargan.toy.models import FixedGenerator, ToyCritic, ToyGenerator
    from chargan.toy.pipeline import train_toy_model


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'chargan' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__version__ = "0.1.0"

__all__ = [
    # GAN core: data, objectives, penalty, trainer
    "BatchSource",
    "RowSampler",
    "Objective",
    "OBJECTIVES",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
    "gradient_penalty",
    "gradient_norms",
    "CriticLoss",
    "interpolate",
    "Trainer",
    "TrainConfig",
    "TrainResult",
    "RunDirectory",
    "resolve_device",
    "UserError",
    "init_from_env",
    "is_main_process",
    # sequence models
    "ConvGenerator",
    "ConvCritic",
    "ResBlock1d",
    # the character language model
    "LanguageGANConfig",
    "ModelConfig",
    "DataConfig",
    "EvalConfig",
    "PRESETS",
    "get_preset",
    "Vocabulary",
    "SubwordVocabulary",
    "load_corpus",
    "EncodedCorpus",
    "NgramStats",
    "ngram_stats",
    "ngram_js",
    "js_divergence",
    "train_language_model",
    "sample_text",
    "evaluate_run",
    "load_generator",
    # every named config
    "CONFIGS",
    "get_named_config",
    # the toy 2-D family
    "ToyGANConfig",
    "TOY_CONFIGS",
    "get_toy_config",
    "ToyGenerator",
    "ToyCritic",
    "FixedGenerator",
    "mode_coverage",
    "wasserstein1",
    "train_toy_model",
    # the image family
    "ImageGANConfig",
    "IMAGE_CONFIGS",
    "get_image_config",
    "DCGANGenerator",
    "DCGANCritic",
    "ResNetGenerator",
    "ResNetCritic",
    "frechet_distance",
    "inception_score",
    "train_image_model",
    "sample_image_grid",
]
