"""chargan: WGAN-GP for discrete sequences.

The generic GAN core (`Trainer`, `gradient_penalty`, the objectives, the
checkpointed run directory) plus the character-level language model of
Gulrajani et al. (2017): `ConvGenerator` and the relaxed `ConvCritic` over
``(batch, seq_len, vocab)`` distributions, corpora, and n-gram evaluation.
"""

from chargan.core.data import BatchSource, RowSampler
from chargan.core.device import resolve_device
from chargan.core.objectives import OBJECTIVES, Objective, wasserstein_critic_loss, wasserstein_generator_loss
from chargan.core.penalty import gradient_norms, gradient_penalty, interpolate
from chargan.core.run import RunDirectory
from chargan.core.trainer import Trainer, TrainConfig, TrainResult
from chargan.errors import UserError
from chargan.text.config import PRESETS, DataConfig, EvalConfig, LanguageGANConfig, ModelConfig, get_preset
from chargan.text.models import ConvCritic, ConvGenerator, ResBlock1d
from chargan.text.ngrams import NgramStats, js_divergence, ngram_js, ngram_stats
from chargan.text.pipeline import evaluate_run, load_generator, sample_text, train_language_model
from chargan.text.vocab import Vocabulary
from chargan.corpora import EncodedCorpus, load_corpus  # noqa: E402  (corpora needs chargan.text.vocab first)

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
    "interpolate",
    "Trainer",
    "TrainConfig",
    "TrainResult",
    "RunDirectory",
    "resolve_device",
    "UserError",
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
]
