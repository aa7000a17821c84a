"""Is a DNA sequence a gene? FBGAN's check, with Biopython's standard codon table.

A valid gene starts with the start codon ATG, has a length that is a
multiple of 3, ends with a stop codon and holds no stop codon before it,
and encodes a protein of more than 2 residues. Translation is
``Bio.Seq.translate`` with NCBI table 1 (the optional extra ``chargan[bio]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from chargan.corpora.seqfiles import require_biopython

_BASES = frozenset("ACGT")


def is_valid_gene(sequence: str, min_residues: int = 3) -> bool:
    """``sequence`` (A C G T only) is ATG ... stop, a whole number of codons, one stop at the end, and encodes at
    least ``min_residues`` amino acids."""
    from Bio.Seq import translate

    if len(sequence) % 3 or not sequence.startswith("ATG") or not _BASES.issuperset(sequence):
        return False
    protein = translate(sequence, table=1)
    return protein.endswith("*") and "*" not in protein[:-1] and len(protein) - 1 >= min_residues


def valid_gene_fraction(sequences: Sequence[str]) -> float:
    """The fraction of ``sequences`` that are valid genes (`is_valid_gene`); NaN for none."""
    require_biopython("the valid-gene figure")
    if not sequences:
        return float("nan")
    return float(np.mean([is_valid_gene(s) for s in sequences]))
