"""The genes family's figures and pieces: valid genes, novelty, histograms, Gumbel output, tau, feedback."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from chargan.corpora.units import Alphabet

from chargan.errors import UserError
from chargan.genes.biology import is_valid_gene, valid_gene_fraction
from chargan.genes.config import EvalConfig
from chargan.genes.evaluation import genes_reference, is_dna, score_ids
from chargan.genes.feedback import Feedback, import_scorer
from chargan.genes.metrics import histogram_js, lengths, nearest_distances, novelty
from chargan.genes.models import GumbelConvGenerator, TauSchedule, tau_at
from chargan.sequence.ngrams import ngram_js

DNA = Alphabet.named("dna")


@pytest.mark.parametrize("gene", ["ATGAAACCCTAA", "ATGGCTGCTTGA", "ATGAAACCCGGGTAG", "ATGTTTTTTTTTTTTTTTTAA"])
def test_valid_genes(gene: str) -> None:
    assert is_valid_gene(gene)


@pytest.mark.parametrize("sequence, why", [
    ("ATGAAACCCGGG", "no stop codon"),
    ("ATGAAATAACCCTGA", "a stop codon before the last"),
    ("TTGAAACCCTAA", "a start other than ATG"),
    ("ATGAAACCCTAAA", "a length that is not a multiple of 3"),
    ("ATGAAATA", "a length that is not a multiple of 3, stop cut"),
    ("ATGAATAA", "8 bases"),
    ("ATGTAA", "a protein of one residue"),
    ("ATGAAATAA", "a protein of two residues"),
    ("ATGTAG", "a whole number of codons, one residue before a TAG stop"),
    ("ATGGCTTGA", "a whole number of codons, two residues before a TGA stop"),
    ("ATGAAAC-CTAA", "inner padding"),
    ("", "nothing"),
])
def test_invalid_genes(sequence: str, why: str) -> None:
    assert not is_valid_gene(sequence), why


def test_valid_gene_fraction() -> None:
    assert valid_gene_fraction(["ATGAAACCCTAA", "ATGAAACCC", "ATGAAAGGGTGA", "CCC"]) == 0.5
    assert is_valid_gene("ATGGCTTGA", min_residues=2) and is_valid_gene("ATGTAG", min_residues=1)  # refused for that alone


def _levenshtein(a: str, b: str) -> int:
    """The textbook dynamic programme, one row at a time."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


@pytest.mark.parametrize("first", [50, 3])  # 3: most of the search runs in the bounded second stage
def test_novelty_equals_a_slow_pure_python_edit_distance(first: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from chargan.genes import metrics

    monkeypatch.setattr(metrics, "_FIRST_CANDIDATES", first)
    rng = random.Random(0)
    train = ["".join(rng.choice("ACGT") for _ in range(rng.randint(5, 30))) for _ in range(40)]
    samples = ["".join(rng.choice("ACGT") for _ in range(rng.randint(0, 30))) for _ in range(25)] + train[:3]
    slow = np.array([min(_levenshtein(s, t) for t in train) for s in samples])
    assert np.array_equal(nearest_distances(samples, train), slow)
    figures = novelty(samples, train)
    assert figures["novelty_mean"] == pytest.approx(slow.mean())
    assert figures["novelty_median"] == pytest.approx(float(np.median(slow)))
    assert figures["novelty_copies"] == pytest.approx(3 / len(samples))


def test_valid_genes_apply_to_dna_alphabets_only() -> None:
    assert is_dna(DNA) and is_dna(Alphabet.parse("ACGTN")) and is_dna(Alphabet.parse("ACGT"))
    assert not is_dna(Alphabet.named("rna")) and not is_dna(Alphabet.named("protein"))
    assert not is_dna(Alphabet.parse("ACDEFGHIKLMNPQRSTVWY"))  # the amino acids, A C G T among them


def test_copies_of_held_out_genes_count_as_copies() -> None:
    rng = np.random.default_rng(0)
    genes = ["ATG" + "".join(rng.choice(["AAA", "GCT", "CCC", "GGA"], size=int(k))) + "TAA"
             for k in rng.integers(3, 12, size=300)]
    ids = DNA.encode_batch(genes, 48)
    config = EvalConfig(samples=100, novelty_train=300)
    reference = genes_reference(ids, DNA, config)
    # The generator trains on every row: the novelty set is all of them, the held-out slice's included.
    assert sorted(reference.train) == sorted(genes)
    assert score_ids(ids[:100], reference)["novelty_copies"] == 1.0
    # The floor scores the held-out genes against the rest only: copies there are duplicates in the data.
    duplicated = sum(genes.count(g) > 1 for g in genes) / len(genes)
    assert reference.floor["novelty_copies"] <= duplicated + 0.1 < 1.0
    # Scored against another file, copies are still of the training rows.
    other = DNA.encode_batch(["ATGCCCAAATAA"] * 60 + genes[:60], 48)
    against = genes_reference(other, DNA, EvalConfig(samples=30, novelty_train=300), train_ids=ids)
    assert sorted(against.train) == sorted(genes) and score_ids(ids[200:], against)["novelty_copies"] == 1.0


def test_k_mer_figures_leave_padding_out_and_score_empty_samples_as_farthest() -> None:
    rng = np.random.default_rng(1)
    genes = ["ATG" + "".join(rng.choice(["AAA", "GCT", "CCC", "GGA"], size=int(k))) + "TAA"
             for k in rng.integers(3, 12, size=300)]
    reference = genes_reference(DNA.encode_batch(genes, 48), DNA, EvalConfig(samples=50, novelty_train=0))
    # The same genes in rows twice as long: only padding differs, and no k-mer holds it.
    short, long = (ngram_js(DNA.encode_batch(genes[:50], n), reference.ngrams.stats, len(DNA), skip=0)
                   for n in (48, 96))
    assert short == long and set(short) == {f"js{k}" for k in range(1, 7)} and short["js6"] < 0.5
    empty = score_ids(np.zeros((50, 48), dtype=np.uint8), reference)
    assert all(empty[f"js{k}"] == 1.0 for k in range(1, 7)) and empty["valid_gene"] == 0.0


def test_histogram_js_and_lengths() -> None:
    assert histogram_js(np.array([1, 0]), np.array([0, 3])) == pytest.approx(1.0)
    assert histogram_js(np.array([2, 2]), np.array([5, 5])) == pytest.approx(0.0)
    ids = DNA.encode_batch(["ACGT", "", "A", "AC-G"], 6)
    assert lengths(ids).tolist() == [4, 0, 1, 4]


def test_held_out_real_rows_score_near_their_floor_and_noise_far_from_it() -> None:
    rng = np.random.default_rng(0)
    genes = ["ATG" + "".join(rng.choice(["AAA", "GCT", "CCC", "GGA"], size=int(k))) + "TAA"
             for k in rng.integers(3, 12, size=400)]
    ids = DNA.encode_batch(genes, 48)
    reference = genes_reference(ids, DNA, EvalConfig(samples=100, novelty_train=200))
    assert reference.floor["valid_gene"] == 1.0 and reference.floor["js3"] < 0.05
    noise = rng.integers(1, 5, size=(100, 48)).astype(np.uint8)
    scored = score_ids(noise, reference)
    assert scored["valid_gene"] == 0.0 and scored["js3"] > 0.3 and scored["length_js"] > 0.5
    assert scored["novelty_mean"] > reference.floor["novelty_mean"]


def test_gumbel_output_is_on_the_simplex_and_sharpens_as_tau_falls() -> None:
    torch.manual_seed(0)
    generator = GumbelConvGenerator(5, tau=2.0, seq_len=8, dim=8, n_blocks=1)
    z = torch.randn(64, generator.latent_dim)
    out = generator(z)
    assert out.shape == (64, 8, 5) and (out >= 0).all()
    assert torch.allclose(out.sum(-1), torch.ones(64, 8), atol=1e-5)
    warm = out.max(-1).values.mean()
    generator.tau = 0.1
    cold = generator(z).max(-1).values.mean()
    assert cold > warm + 0.2  # a colder Gumbel-softmax is nearer a one-hot
    generator.eval()  # sampling: the plain softmax, no noise
    assert torch.equal(generator(z), generator.logits(z).softmax(-1))


def test_tau_anneals_as_documented() -> None:
    assert tau_at(0, 1.0, 0.0, 0.1) == 1.0 and tau_at(10_000, 1.0, 0.0, 0.1) == 1.0  # no decay: constant
    assert tau_at(0, 1.0, 1e-3, 0.1) == 1.0
    assert tau_at(1000, 1.0, 1e-3, 0.1) == pytest.approx(np.exp(-1.0))
    assert tau_at(10_000, 1.0, 1e-3, 0.1) == 0.1  # floored
    generator = GumbelConvGenerator(5, tau=1.0, seq_len=4, dim=4, n_blocks=1)
    schedule = TauSchedule(generator, 1.0, 1e-3, 0.1)
    trainer = type("T", (), {"iteration": 500})()
    schedule.on_step_end(trainer)  # type: ignore[arg-type]
    assert generator.tau == pytest.approx(np.exp(-0.5))


class _Constant(torch.nn.Module):
    """A generator whose every sample is one fixed sequence of ids."""

    latent_dim, vocab_size = 2, 5

    def __init__(self, ids: list[int]) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.probs = torch.nn.functional.one_hot(torch.tensor(ids), 5).float()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.probs.expand(len(z), -1, -1) + 0 * self.weight


def test_feedback_replaces_the_oldest_rows_and_restores_its_state() -> None:
    rows = DNA.encode_batch(["AAAA"] * 5, 4)
    seen: list[list[str]] = []

    def scorer(sequences: list[str]) -> list[float]:
        seen.append(sequences)
        return [1.0, 0.0, 1.0]

    feedback = Feedback(scorer, rows, DNA, every=2, samples=3, threshold=0.5)
    assert feedback.feed(_Constant([3, 3, 3, 3]), 2) == 2  # GGGG passes twice
    assert DNA.decode_batch(rows) == ["GGGG", "GGGG", "AAAA", "AAAA", "AAAA"] and seen[0] == ["GGGG"] * 3
    feedback.feed(_Constant([2, 2, 2, 2]), 4)
    feedback.feed(_Constant([4, 4, 4, 4]), 6)  # wraps around: the oldest rows go first
    assert DNA.decode_batch(rows) == ["TTTT", "GGGG", "CCCC", "CCCC", "TTTT"]
    metrics = feedback.evaluation_metrics(None, {})  # type: ignore[arg-type]
    assert metrics == {"feedback_replaced": 1.0, "feedback_accepted": 2 / 3}
    state = feedback.state_dict()
    fresh_rows = DNA.encode_batch(["AAAA"] * 5, 4)
    restored = Feedback(scorer, fresh_rows, DNA, every=2, samples=3, threshold=0.5)
    restored.load_state_dict(state)
    assert np.array_equal(fresh_rows, rows) and restored.replaced == 6 and restored.rounds == 3


def test_a_scorer_by_name_and_bad_scores() -> None:
    assert import_scorer("statistics:mean")([1, 3]) == 2
    with pytest.raises(UserError, match="cannot import the feedback scorer"):
        import_scorer("no_such_module_here:f")
    rows = DNA.encode_batch(["AAAA"] * 2, 4)
    feedback = Feedback(lambda s: [1.0], rows, DNA, every=1, samples=3, threshold=0.5)
    with pytest.raises(UserError, match="returned 1 scores for 3 sequences"):
        feedback.feed(_Constant([1, 1, 1, 1]), 1)


def test_under_torchrun_only_rank_0_scores_and_every_rank_takes_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from chargan.core import distributed

    rank0_rows = DNA.encode_batch(["GGGG", "CCCC"], 4)
    sent: list[object] = []
    monkeypatch.setattr(distributed, "is_main_process", lambda: False)
    monkeypatch.setattr(distributed, "broadcast_object", lambda obj: sent.append(obj) or (rank0_rows, None))
    rows = DNA.encode_batch(["AAAA"] * 3, 4)

    def never(sequences: list[str]) -> list[float]:
        raise AssertionError("a rank other than 0 called the scorer")

    feedback = Feedback(never, rows, DNA, every=1, samples=4, threshold=0.5)
    assert feedback.feed(_Constant([4, 4, 4, 4]), 1) == 2  # rank 0's two rows, not this rank's samples
    assert DNA.decode_batch(rows) == ["GGGG", "CCCC", "AAAA"] and sent == [(None, None)]
    assert feedback.accepted == 2 / 4
    # Rank 0's scorer failed: every rank raises its error instead of waiting for rows.
    monkeypatch.setattr(distributed, "broadcast_object", lambda obj: (None, "the feedback scorer broke"))
    with pytest.raises(UserError, match="the feedback scorer broke"):
        feedback.feed(_Constant([4, 4, 4, 4]), 2)


@pytest.mark.parametrize("module, call", [
    ("Bio", lambda: valid_gene_fraction(["ATGAAACCCTAA"])),
    ("rapidfuzz", lambda: nearest_distances(["ACGT"], ["ACGA"])),
])
def test_a_missing_extra_says_so_and_how_to_install_it(module: str, call, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def blocked(name: str, *args: object, **kwargs: object) -> object:
        if name == module or name.startswith(module + "."):
            raise ImportError(f"No module named {module!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", blocked)
    with pytest.raises(UserError, match="not installed") as info:
        call()
    assert "pip install 'chargan[bio]'" in str(info.value)
