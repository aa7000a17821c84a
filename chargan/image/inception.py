"""Inception Score and Fréchet Inception Distance.

The math (`feature_statistics`, `frechet_distance`, `inception_score`) works
on any features and class probabilities; `load_inception` turns a local
weights file into a `FeatureExtractor`. Two formats are understood:

- a TorchScript Inception with NVIDIA's calling convention, such as
  ``inception-2015-12-05.pt`` (the TF Inception of the original IS / FID
  code, as StyleGAN2-ADA and clean-fid use it; `NVIDIA_INCEPTION_URL`):
  needs nothing but torch (the later ``.pkl`` edition is a pickle, which
  could run code when loaded, and is not read);
- a state dict of torchvision's ``inception_v3``: needs torchvision, which is
  not a chargan dependency.

Without a weights file the metrics are skipped (the pipeline says so once).
"""

from __future__ import annotations

import hashlib
import os
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from chargan.errors import UserError

INCEPTION_ENV = "CHARGAN_INCEPTION_WEIGHTS"
#: Where NVIDIA publishes its TorchScript translation of the TF Inception (about 100 MB).
NVIDIA_INCEPTION_URL = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt"

#: ``extract(images)`` with images ``(batch, 3, height, width)`` in [-1, 1] returns
#: ``(features (batch, 2048), class probabilities (batch, classes))``.
FeatureExtractor = Callable[[Tensor], tuple[Tensor, Tensor]]


# ====================================================================== math


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (float64, unbiased) of ``features`` ``(n, d)``."""
    x = features.detach().to(torch.float64)
    if x.shape[0] < 2:
        raise ValueError("feature statistics need at least two examples")
    mu = x.mean(0)
    centered = x - mu
    return mu, centered.T @ centered / (x.shape[0] - 1)


def _psd_sqrt(matrix: Tensor) -> Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), in squared feature units.

    ``|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The trace of the
    square root is taken as the sum of square roots of the eigenvalues of
    ``S1^(1/2) S2 S1^(1/2)``: the same eigenvalues as ``S1 S2``, but of a
    symmetric matrix, so no complex parts appear (as they can with scipy's
    ``sqrtm`` of the non-symmetric product).
    """
    mu1, mu2, sigma1, sigma2 = (t.detach().to(torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    diff = mu1 - mu2
    root = _psd_sqrt(sigma1)
    product = root @ sigma2 @ root
    trace_sqrt = torch.linalg.eigvalsh((product + product.T) / 2).clamp(min=0).sqrt().sum()
    return float(diff @ diff + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt)


def inception_score(probs: Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and standard deviation over ``splits`` of ``exp(E_x KL(p(y|x) || p(y)))``.

    ``probs`` is ``(n, classes)``, each row a distribution over classes; 1 is
    the lowest score, the number of classes the highest.
    """
    p = probs.detach().to(torch.float64)
    scores = []
    for chunk in p.chunk(splits):
        marginal = chunk.mean(0, keepdim=True)
        kl = (torch.xlogy(chunk, chunk) - chunk * torch.log(marginal.clamp(min=1e-30))).sum(1).mean()
        scores.append(torch.exp(kl))
    stacked = torch.stack(scores)
    return float(stacked.mean()), float(stacked.std(unbiased=False))  # population std, as the reference code


# ================================================================ extractors


class ScriptedInception:
    """A TorchScript Inception with NVIDIA's interface (``inception-2015-12-05.pt``).

    It takes images ``(batch, 3, height, width)`` as uint8 0..255, resizes them
    to 299x299 itself, and returns the 2048 pool features with
    ``return_features=True``, else class probabilities (``no_output_bias=True``
    matches the original Inception Score code).
    """

    def __init__(self, module: torch.jit.ScriptModule) -> None:
        self.module = module.eval()

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return self.module(x, return_features=True), self.module(x, no_output_bias=True)


class TorchvisionInception:
    """torchvision's ``inception_v3`` with weights from a state dict (needs torchvision)."""

    def __init__(self, state: dict[str, Tensor], path: Path) -> None:
        try:
            from torchvision.models import inception_v3
        except ImportError:
            raise UserError(
                f"{path} is a state dict for torchvision's Inception v3, and torchvision is not installed",
                hint="pip install the torchvision build that matches your torch, or point the weights path at "
                "NVIDIA's TorchScript inception-2015-12-05.pt, which needs no extra package",
            ) from None
        # The weights ported from TensorFlow expect inputs in [-1, 1]: no ImageNet re-normalization.
        net = inception_v3(weights=None, aux_logits="AuxLogits.fc.weight" in state, init_weights=False,
                           transform_input=False, num_classes=int(state["fc.weight"].shape[0]))
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            raise UserError(f"{path} does not fit torchvision's Inception v3: {str(exc).splitlines()[0]}") from None
        self.net = net.eval()
        self._pooled: list[Tensor] = []
        net.avgpool.register_forward_hook(lambda _m, _i, out: self._pooled.append(out.flatten(1)))

    def to(self, device: torch.device) -> TorchvisionInception:
        self.net.to(device)
        return self

    def __call__(self, images: Tensor) -> tuple[Tensor, Tensor]:
        x = F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=False)
        self._pooled.clear()
        logits = self.net(x)
        return self._pooled.pop(), logits.softmax(1)


def inception_weights_path(configured: str | None) -> Path | None:
    """The configured weights path, else ``$CHARGAN_INCEPTION_WEIGHTS``, else None."""
    value = configured or os.environ.get(INCEPTION_ENV, "").strip()
    return Path(value).expanduser() if value else None


def weights_fingerprint(path: Path) -> str:
    """A short key for caching statistics computed with these weights (name, size, mtime)."""
    stat = path.stat()
    return hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]


def load_inception(path: str | Path, device: torch.device | str = "cpu") -> FeatureExtractor:
    """A `FeatureExtractor` on ``device`` from a TorchScript or torchvision-format Inception file.

    Raises `UserError` when the file is missing or not a usable Inception.
    """
    path = Path(path)
    device = torch.device(device)
    if not path.is_file():
        raise UserError(f"Inception weights {path} not found",
                        hint=f"fix the path (the eval inception_weights setting or ${INCEPTION_ENV}), or unset it to skip IS / FID")
    if zipfile.is_zipfile(path):  # TorchScript archives are zip files (so are new torch.save files)
        try:
            with warnings.catch_warnings():
                # Recent torch deprecates TorchScript, yet it is the format NVIDIA's Inception ships in.
                warnings.simplefilter("ignore", DeprecationWarning)
                return ScriptedInception(torch.jit.load(str(path), map_location=device))
        except RuntimeError:
            pass  # a torch.save archive, not TorchScript: try it as a state dict
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a file that is not a checkpoint
        raise UserError(f"cannot read Inception weights {path}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                        hint="give a TorchScript inception-2015-12-05.pt or a torchvision inception_v3 state dict") from None
    if not isinstance(state, dict) or "fc.weight" not in state:
        raise UserError(f"{path} is not an Inception v3 state dict (no fc.weight)",
                        hint="give a TorchScript inception-2015-12-05.pt or a torchvision inception_v3 state dict")
    return TorchvisionInception(state, path).to(device)


# ============================================================== batch scoring


@torch.no_grad()
def extract(extractor: FeatureExtractor, images: Callable[[int, int], Tensor], n: int, batch_size: int) -> tuple[Tensor, Tensor]:
    """Features ``(n, d)`` and probabilities ``(n, classes)`` of ``n`` images, on the CPU.

    ``images(start, count)`` returns images ``start..start+count`` as
    ``(count, channels, height, width)`` in [-1, 1]; one channel is repeated
    to three (the Inception network sees RGB).
    """
    features, probs = [], []
    for start in range(0, n, batch_size):
        batch = images(start, min(batch_size, n - start))
        if batch.shape[1] == 1:
            batch = batch.expand(-1, 3, -1, -1)
        f, p = extractor(batch)
        features.append(f.float().cpu())
        probs.append(p.float().cpu())
    return torch.cat(features), torch.cat(probs)


__all__ = ["FeatureExtractor", "INCEPTION_ENV", "NVIDIA_INCEPTION_URL", "ScriptedInception", "TorchvisionInception", "extract",
           "feature_statistics", "frechet_distance", "inception_score", "inception_weights_path", "load_inception",
           "weights_fingerprint"]
