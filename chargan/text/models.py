"""The language model's networks: the conv generator and relaxed critic of `chargan.sequence.models`.

They moved there so that every family of symbol sequences (text, genes)
shares them; the names stay importable from here.
"""

from chargan.sequence.models import (
    ONE_PASS_MAX_DIM,
    ConvCritic,
    ConvGenerator,
    ResBlock1d,
    one_hot,
    pointwise,
    pointwise_transposed,
)

__all__ = ["ONE_PASS_MAX_DIM", "ConvCritic", "ConvGenerator", "ResBlock1d", "one_hot", "pointwise", "pointwise_transposed"]
