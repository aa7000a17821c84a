# chargan's public API, written once: `chargan/__init__.py` loads each name from here on first use
# (lazy_loader), and type checkers read it as the package's stub. tests/test_public_api.py checks it.

# The GAN core: data, objectives, penalty, training loop, run directory
from .core.callbacks import Callback
from .core.config import TrainConfig
from .core.data import BatchSource, RowSampler
from .core.device import resolve_device
from .core.distributed import init_from_env, is_main_process
from .core.losses import CriticLoss
from .core.objectives import OBJECTIVES, Objective, wasserstein_critic_loss, wasserstein_generator_loss
from .core.activations import PenaltyLeakyReLU, PenaltyReLU, penalty_leaky_relu, penalty_relu
from .core.penalty import gradient_norms, gradient_penalty, interpolate
from .core.run import RunDirectory
from .core.sampling import generate
from .core.trainer import Trainer, TrainResult
from .errors import UserError

# Every family: named configs, and training, loading, sampling and scoring any run
from .families import CONFIGS, FAMILIES, evaluate, get_named_config, load_run, sample, train
from .core.family import LoadedRun, TrainedRun

# The character language model
from .text.config import PRESETS, DataConfig, EvalConfig, LanguageGANConfig, ModelConfig, get_preset
from .sequence.models import ConvCritic, ConvGenerator, ResBlock1d
from .sequence.ngrams import NgramStats, js_divergence, ngram_js, ngram_stats
from .corpora import EncodedCorpus, load_corpus
from .corpora.units import Alphabet, SubwordVocabulary, Vocabulary

# The toy 2-D family
from .toy.config import TOY_CONFIGS, ToyGANConfig, get_toy_config
from .toy.models import FixedGenerator, ToyCritic, ToyGenerator
from .toy.metrics import mode_coverage, wasserstein1

# The image family
from .image.config import IMAGE_CONFIGS, ImageGANConfig, get_image_config
from .image.models import DCGANCritic, DCGANGenerator, ResNetCritic, ResNetGenerator
from .image.inception import frechet_distance, inception_score

# The genes family (FBGAN): genes and peptides over fixed alphabets
from .genes.config import GENES_CONFIGS, GenesGANConfig
from .corpora.sequences import load_sequences

# Release 0.1's per-family functions: deprecated, removed in the next release
from .deprecated import (evaluate_run, load_generator, sample_image_grid, sample_text, train_image_model,
                         train_language_model, train_toy_model)
