"""Decoding a language generator's softmax: `chargan.sequence.decoding`, shared by every family of symbol
sequences; the names stay importable from here."""

from chargan.sequence.decoding import draw, sample_ids

__all__ = ["draw", "sample_ids"]
