"""The public API: one export list that imports, and a GAN over non-text sequences built from it alone."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chargan
from chargan import ConvCritic, ConvGenerator, RowSampler, Trainer, TrainConfig, generate

ROOT = Path(__file__).resolve().parents[1]
DEPRECATED = {"train_language_model", "train_toy_model", "train_image_model", "load_generator", "sample_text",
              "evaluate_run", "sample_image_grid"}


def stub_names() -> list[str]:
    """The names ``chargan/__init__.pyi`` imports: the one written list of exports."""
    tree = ast.parse((ROOT / "chargan" / "__init__.pyi").read_text(encoding="utf-8"))
    return [alias.name for node in tree.body if isinstance(node, ast.ImportFrom) for alias in node.names]


def test_every_exported_name_imports_and_all_matches_the_one_list() -> None:
    names = stub_names()
    assert len(names) == len(set(names)) and len(names) > 50
    assert sorted(chargan.__all__) == sorted(names)
    for name in names:
        assert getattr(chargan, name) is not None, name
    with pytest.raises(AttributeError):
        chargan.not_an_export  # noqa: B018


def test_deprecated_names_still_work_and_warn(tmp_path: Path) -> None:
    assert DEPRECATED <= set(chargan.__all__)
    with pytest.warns(DeprecationWarning, match="chargan.sample_text is deprecated"):
        with pytest.raises(chargan.UserError, match="not a chargan run"):
            chargan.sample_text(tmp_path / "nothing")
    for module, name in (("chargan.text.vocab", "Vocabulary"), ("chargan.text.subword", "SubwordVocabulary")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            exec(f"from {module} import {name}", {})
        assert any(issubclass(w.category, DeprecationWarning) for w in caught), module
    assert chargan.Vocabulary.__module__.startswith("chargan.corpora.units")


def test_readme_example_uses_the_exported_seeded_generation() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## Python API.*?```python\n(.*?)```", readme, re.S)
    assert example is not None
    code = example.group(1)
    assert "generate(" in code and "print(" in code and "trainer.noise" not in code
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module == "chargan":
            assert all(alias.name in chargan.__all__ for alias in node.names)

SYMBOLS, LENGTH = 6, 16


def markov_chain(seed: int = 0) -> np.ndarray:
    """A sparse transition matrix: each symbol mostly goes to one of two successors."""
    rng = np.random.default_rng(seed)
    p = np.full((SYMBOLS, SYMBOLS), 0.02)
    for s in range(SYMBOLS):
        a, b = rng.choice(SYMBOLS, size=2, replace=False)
        p[s, a] += 0.6
        p[s, b] += 0.3
    return p / p.sum(1, keepdims=True)


def sample_chain(p: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seqs = np.empty((n, LENGTH), dtype=np.int64)
    seqs[:, 0] = rng.integers(SYMBOLS, size=n)
    cumulative = p.cumsum(1)
    for t in range(1, LENGTH):
        u = rng.random(n)[:, None]
        seqs[:, t] = (u > cumulative[seqs[:, t - 1]]).sum(1)
    return seqs


def bigram_frequencies(seqs: np.ndarray) -> np.ndarray:
    counts = np.bincount((seqs[:, :-1] * SYMBOLS + seqs[:, 1:]).ravel(), minlength=SYMBOLS**2)
    return counts / counts.sum()


def test_exports_are_not_text_specific_and_train_a_markov_gan() -> None:
    assert {"ConvGenerator", "ConvCritic", "gradient_penalty", "Trainer", "RowSampler"} <= set(chargan.__all__)
    torch.manual_seed(0)
    data = sample_chain(markov_chain(), 4096)
    target = bigram_frequencies(data)

    generator = ConvGenerator(vocab_size=SYMBOLS, seq_len=LENGTH, dim=32, latent_dim=16, n_blocks=2, kernel_size=3)
    critic = ConvCritic(vocab_size=SYMBOLS, seq_len=LENGTH, dim=32, n_blocks=2, kernel_size=3)
    real = RowSampler(data, seed=0, transform=lambda ids: F.one_hot(ids, SYMBOLS).float())
    config = TrainConfig(iterations=120, batch_size=64, critic_iters=5, lr=1e-3, device="cpu")
    trainer = Trainer(generator, critic, real, config, progress=False)

    def distance() -> float:
        fake = generate(generator, 2048, seed=0, transform=lambda probs: probs.argmax(-1)).numpy()
        return 0.5 * np.abs(bigram_frequencies(fake) - target).sum()  # total variation

    before = distance()
    result = trainer.fit()
    after = distance()
    assert result.iteration == 120 and not result.interrupted
    assert before > 0.5, before  # an untrained generator is far from the chain
    assert after < 0.5 * before, (before, after)
