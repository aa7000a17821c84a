"""The image family: models, grids, IS / FID math, and every named config end to end.

Runs are tiny (width 4, 2 iterations, fabricated data in the official
formats), so the whole file takes seconds on a CPU.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from chargan.errors import UserError
from chargan.families import load_run, read_run_config, train
from chargan.image.config import IMAGE_CONFIGS, ImageGANConfig
from chargan.image.family import write_grid
from chargan.image.grid import grid_rows, tile
from chargan.image.inception import (
    ScriptedInception,
    feature_statistics,
    frechet_distance,
    inception_score,
    load_inception,
)
from chargan.image.models import build_image_models
from test_image_data import write_cifar, write_mnist

PNG = b"\x89PNG\r\n\x1a\n"


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: threads only cost


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MNIST (train) and CIFAR-10 in their official formats, side by side."""
    root = tmp_path_factory.mktemp("image-data")
    write_mnist(root / "mnist", n=16)
    write_cifar(root, n_per_batch=4)
    return root


def tiny(name: str, data_dir: Path, **overrides) -> ImageGANConfig:
    """The named config at width 4, 2 iterations of batch 4, one critic step; grids of 6 images."""
    settings = dict(dim=4, latent_dim=8, iterations=2, batch_size=4, critic_iters=1, eval_every=2, log_every=1,
                    checkpoint_every=2, eval_grid_samples=6, data_dir=str(data_dir), device="cpu")
    return IMAGE_CONFIGS[name].with_overrides(**{**settings, **overrides})


def quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------ configs


def test_named_configs_keep_the_reference_defaults() -> None:
    mnist, cifar, resnet, resnet_ln = (IMAGE_CONFIGS[k] for k in ("mnist", "cifar10", "cifar10-resnet", "cifar10-resnet-ln"))
    assert (mnist.train.batch_size, mnist.train.critic_iters, mnist.train.lambda_gp, mnist.train.lr) == (50, 5, 10.0, 1e-4)
    assert mnist.train.betas == (0.5, 0.9) and mnist.train.iterations == 200_000 and mnist.model.dim == 64
    assert cifar.train.batch_size == 64 and cifar.model.generator_norm == "batch" and cifar.model.critic_norm == "none"
    assert (resnet.model.arch, resnet.model.dim, resnet.train.lr, resnet.train.betas) == ("resnet", 128, 2e-4, (0.0, 0.9))
    assert resnet.model.critic_norm == "none" and resnet_ln.model.critic_norm == "layer"
    for config in IMAGE_CONFIGS.values():
        assert config.validate() is config
        assert ImageGANConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_config_errors() -> None:
    with pytest.raises(UserError, match="32x32"):
        IMAGE_CONFIGS["mnist"].with_overrides(arch="resnet").validate()
    with pytest.raises(UserError, match="critic-norm"):
        IMAGE_CONFIGS["cifar10"].with_overrides(critic_norm="batch").validate()
    with pytest.raises(UserError, match="unknown ImageModelConfig fields"):
        ImageGANConfig.from_dict({"model": {"depth": 3}})


# ------------------------------------------------------------------- models


@pytest.mark.parametrize("arch, shape", [("dcgan", (1, 28, 28)), ("dcgan", (3, 32, 32)), ("resnet", (3, 32, 32))])
@pytest.mark.parametrize("norms", [("none", "none"), ("batch", "layer")])
def test_model_shapes_and_per_example_critic(arch: str, shape: tuple[int, int, int], norms: tuple[str, str]) -> None:
    torch.manual_seed(0)
    generator, critic = build_image_models(arch, shape, dim=4, latent_dim=8, generator_norm=norms[0], critic_norm=norms[1])
    images = generator(torch.randn(5, 8))
    assert images.shape == (5, *shape) and images.abs().max() <= 1
    scores = critic(images)
    assert scores.shape == (5,)
    # Each score depends on its own image only (the gradient penalty is per example).
    alone = torch.cat([critic(images[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(scores, alone, rtol=1e-5, atol=1e-5)


def test_grid_layout() -> None:
    assert (grid_rows(128), grid_rows(64), grid_rows(6), grid_rows(7)) == (8, 8, 2, 1)
    picture = tile(np.full((6, 28, 28, 1), 255, np.uint8))
    assert picture.shape == (2 * 29 + 1, 3 * 29 + 1, 3)
    assert picture[0].max() == 0 and picture[1, 1].tolist() == [255, 255, 255]


# -------------------------------------------------------------- IS and FID


def test_frechet_distance_closed_form() -> None:
    gen = torch.Generator().manual_seed(0)
    d = 6
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    sigma1 = a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)
    mu1, mu2 = torch.randn(d, generator=gen, dtype=torch.float64), torch.randn(d, generator=gen, dtype=torch.float64)
    # S2 = c^2 S1: tr((S1 S2)^(1/2)) = c tr(S1), so FID = |mu1 - mu2|^2 + (1 - c)^2 tr(S1).
    c = 3.0
    expected = float((mu1 - mu2).square().sum() + (1 - c) ** 2 * sigma1.trace())
    assert frechet_distance(mu1, sigma1, mu2, c**2 * sigma1) == pytest.approx(expected, rel=1e-9)
    # Diagonal covariances: FID = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
    s1, s2 = torch.rand(d, generator=gen, dtype=torch.float64) + 0.5, torch.rand(d, generator=gen, dtype=torch.float64) + 0.5
    expected = float((mu1 - mu2).square().sum() + (s1.sqrt() - s2.sqrt()).square().sum())
    assert frechet_distance(mu1, torch.diag(s1), mu2, torch.diag(s2)) == pytest.approx(expected, rel=1e-9)
    assert frechet_distance(mu1, sigma1, mu1, sigma1) == pytest.approx(0.0, abs=1e-9)


def test_fid_from_samples_approaches_closed_form() -> None:
    gen = torch.Generator().manual_seed(1)
    n, d = 200_000, 3
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = 2 * torch.randn(n, d, generator=gen, dtype=torch.float64) + 1  # N(1, 4 I)
    expected = d * 1.0 + d * (1 - 2) ** 2  # |mu|^2 + sum (1 - 2)^2
    assert frechet_distance(*feature_statistics(x), *feature_statistics(y)) == pytest.approx(expected, rel=0.02)


def test_inception_score_bounds() -> None:
    k = 10
    confident = torch.eye(k).repeat(20, 1)  # every class equally often, each image sure of its class
    mean, std = inception_score(confident, splits=4)
    assert mean == pytest.approx(k) and std == pytest.approx(0.0, abs=1e-9)
    mean, _ = inception_score(torch.full((40, k), 1 / k), splits=4)
    assert mean == pytest.approx(1.0)


class _FakeInception(nn.Module):
    """NVIDIA's TorchScript interface (uint8 images in, features or 1008 class probabilities out), in miniature.

    32 features instead of 2048 keep FID's eigendecompositions instant.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Linear(3, 32)
        self.classes = nn.Linear(32, 1008)

    def forward(self, img: Tensor, return_features: bool = False, use_fp16: bool = False,
                no_output_bias: bool = False) -> Tensor:
        x = img.to(torch.float32).mean(dim=(2, 3)) / 255  # (B, 3)
        f = torch.relu(self.features(x))
        if return_features:
            return f
        return torch.softmax(self.classes(f), dim=1)


@pytest.fixture
def fake_inception(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "inception-2015-12-05.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch >= 2.10 deprecates TorchScript
        torch.jit.script(_FakeInception()).save(str(path))
    return path


def test_load_inception(tmp_path: Path, fake_inception: Path) -> None:
    extractor = load_inception(fake_inception)
    assert isinstance(extractor, ScriptedInception)
    features, probs = extractor(torch.zeros(2, 3, 32, 32))
    assert features.shape == (2, 32) and probs.shape == (2, 1008)
    with pytest.raises(UserError, match="not found"):
        load_inception(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not weights")
    with pytest.raises(UserError, match="cannot read Inception weights"):
        load_inception(junk)
    other = tmp_path / "other.pt"
    torch.save({"conv.weight": torch.zeros(1)}, other)
    with pytest.raises(UserError, match="not an Inception v3 state dict"):
        load_inception(other)


def test_torchvision_state_dict_needs_torchvision(tmp_path: Path) -> None:
    pytest.importorskip("torch")  # always there; the check below is on torchvision
    try:
        import torchvision  # noqa: F401
    except ImportError:
        path = tmp_path / "inception_v3.pth"
        torch.save({"fc.weight": torch.zeros(1000, 2048)}, path)
        with pytest.raises(UserError, match="torchvision is not installed"):
            load_inception(path)
    else:
        pytest.skip("torchvision is installed")


# ------------------------------------------------------------- end to end


@pytest.mark.parametrize("name", list(IMAGE_CONFIGS))
def test_each_config_trains_end_to_end(name: str, data_dir: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    result = train(tiny(name, data_dir), tmp_path / "run", progress=False, echo=messages.append)
    run = result.run
    assert result.result.iteration == 2
    config = json.loads(run.config_path.read_text())
    assert config["name"] == name and config["model"]["dim"] == 4 and config["dataset"]["images"] in (16, 20)
    records = run.read_metrics()
    assert [r["iteration"] for r in records] == [0, 1, 2]
    assert all(np.isfinite(records[-1][k]) for k in ("critic_loss", "generator_loss", "wasserstein", "gradient_penalty"))
    grids = sorted(p.name for p in run.samples_dir.glob("*.png"))
    assert grids == ["samples_00000000.png", "samples_00000002.png"]
    assert (run.samples_dir / grids[-1]).read_bytes()[:8] == PNG
    assert (run.plots_dir / "metrics.png").is_file()
    assert sum("Inception Score and FID skipped" in m for m in messages) == 1
    # The run can be sampled from and reloaded.
    loaded = load_run(run.root, device="cpu")
    assert loaded.iteration == 2 and loaded.config == read_run_config(run.root)
    assert write_grid(loaded, tmp_path / "grid.png", n=4, seed=0).read_bytes()[:8] == PNG


def test_resume_continues_and_guards_settings(data_dir: Path, tmp_path: Path) -> None:
    config = tiny("mnist", data_dir)
    train(config, tmp_path / "run", progress=False, echo=quiet)
    with pytest.raises(UserError, match="already holds a run"):
        train(config, tmp_path / "run", progress=False, echo=quiet)
    with pytest.raises(UserError, match="model.dim was 4, now 8"):
        train(config.with_overrides(dim=8, iterations=3), tmp_path / "run", resume=True, progress=False, echo=quiet)
    resumed = train(config.with_overrides(iterations=3), tmp_path / "run", resume=True, progress=False, echo=quiet)
    assert resumed.result.iteration == 3
    assert [r["iteration"] for r in resumed.run.read_metrics()] == [0, 1, 2, 3]


def test_missing_data_without_download(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="CIFAR-10 train batches"):
        train(tiny("cifar10", tmp_path / "empty"), tmp_path / "run", download=False, progress=False, echo=quiet)


def test_inception_metrics_in_a_run(data_dir: Path, tmp_path: Path, fake_inception: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGAN_INCEPTION_WEIGHTS", str(fake_inception))
    config = tiny("cifar10", data_dir, eval_metric_samples=20, eval_is_splits=2, eval_batch_size=8)
    messages: list[str] = []
    run = train(config, tmp_path / "run", progress=False, echo=messages.append).run
    records = run.read_metrics()
    assert records[0]["real_inception_score"] >= 1.0
    evaluated = [r for r in records if "fid" in r]
    assert [r["iteration"] for r in evaluated] == [0, 2]
    assert all(r["fid"] >= 0 and r["inception_score"] >= 1.0 for r in evaluated)
    assert not any("skipped" in m for m in messages)
    # The real-image statistics are cached: a second run reads them instead of recomputing.
    messages.clear()
    train(config, tmp_path / "run2", progress=False, echo=messages.append)
    assert not any("computing Inception statistics" in m for m in messages)
