"""Sequence corpora of the genes family: FASTA, plain and table files, the alphabet, and the record policies."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from chargan.corpora import CorpusError
from chargan.corpora.sequences import load_sequences, resolve_sequences, sequence_report

from chargan.errors import UserError

SHARED_GENES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "genes"  # ../shared beside the repo

FASTA = """>seq1 a first record
ATGAAA
CCCTAA
>seq2
atggggtag

>seq3 wrapped over three lines
ATG
TTT
TGA
"""


def _write(path: Path, text: str, compress: bool = False) -> Path:
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_fasta_headers_wrapped_lines_lower_case_and_gzip(tmp_path: Path, compress: bool) -> None:
    path = _write(tmp_path / ("genes.fa.gz" if compress else "genes.fa"), FASTA, compress)
    corpus = load_sequences(path, alphabet="dna", seq_len=16)
    assert corpus.vocab.decode_batch(corpus.ids) == ["ATGAAACCCTAA", "ATGGGGTAG", "ATGTTTTGA"]
    assert list(corpus.lines()) == ["ATGAAACCCTAA", "ATGGGGTAG", "ATGTTTTGA"]
    assert corpus.ids.shape == (3, 16) and corpus.ids.dtype == np.uint8 and corpus.ids[1, 9:].max() == 0


def test_fasta_is_recognised_by_its_first_character_whatever_the_name(tmp_path: Path) -> None:
    corpus = load_sequences(_write(tmp_path / "genes.txt", FASTA), alphabet="dna", seq_len=12)
    assert len(corpus.ids) == 3


def test_one_sequence_per_line_skips_blank_lines(tmp_path: Path) -> None:
    corpus = load_sequences(_write(tmp_path / "s.txt", "ACGU\n\nuuag\n"), alphabet="rna", seq_len=4)
    assert corpus.vocab.decode_batch(corpus.ids) == ["ACGU", "UUAG"]


def test_a_table_column_by_header_name_with_a_row_filter(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.tsv", "id\tsequence\tlabel\na\tATG\t1\nb\tCCC\t0\nc\tGGA\t1\n")
    corpus = load_sequences(path, seq_len=3, column="sequence", filter="label=1")
    assert corpus.vocab.decode_batch(corpus.ids) == ["ATG", "GGA"]
    csv = _write(tmp_path / "t.csv", "sequence,label\nKLLK,1\nAAAA,0\n")
    assert load_sequences(csv, alphabet="protein", seq_len=4, filter="label=0").vocab.decode_batch(
        load_sequences(csv, alphabet="protein", seq_len=4, filter="label=0").ids) == ["AAAA"]


def test_a_quote_in_a_tsv_is_data_not_a_cell_spanning_rows(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.tsv", 'id\tsequence\tlabel\n"a\tATG\t1\nb\tCCC\t1\nc"\tGGA\t1\n')
    corpus = load_sequences(path, seq_len=3, filter="label=1")
    assert corpus.vocab.decode_batch(corpus.ids) == ["ATG", "CCC", "GGA"]  # three rows, not one merged
    quoted = _write(tmp_path / "t.csv", 'sequence,label\n"KLLK",1\n"AA\nAA",1\n')  # a .csv may quote
    assert load_sequences(quoted, alphabet="protein", seq_len=4).vocab.decode_batch(
        load_sequences(quoted, alphabet="protein", seq_len=4).ids) == ["KLLK", "AAAA"]


def test_a_headerless_table_by_column_numbers(tmp_path: Path) -> None:
    path = _write(tmp_path / "amp.tsv", "ATGAAA\t1\nATGCCC\t0\nATGGGG\t1\n")
    corpus = load_sequences(path, seq_len=6, column="1", filter="2=1")
    assert corpus.vocab.decode_batch(corpus.ids) == ["ATGAAA", "ATGGGG"]


def test_an_unknown_column_is_an_error_naming_the_header(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.tsv", "id\tseq\na\tATG\n")
    with pytest.raises(CorpusError, match="no column 'sequence'.*id, seq"):
        load_sequences(path, seq_len=3)


def test_a_column_or_filter_on_a_file_that_is_not_a_table_is_an_error(tmp_path: Path) -> None:
    fasta = _write(tmp_path / "g.fa", FASTA)
    with pytest.raises(CorpusError, match="reads as fasta, not as a table") as caught:
        load_sequences(fasta, seq_len=6, filter="label=1")
    assert "--format table" in caught.value.hint
    with pytest.raises(CorpusError, match="reads as lines"):
        load_sequences(_write(tmp_path / "g.txt", "ATG\n"), seq_len=3, column="2")


def test_a_symbol_outside_the_alphabet_names_the_record_and_position(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.fa", ">good\nACGT\n>bad one\nACXGT\n")
    with pytest.raises(UserError, match=r"record 2 \(bad\), position 3: 'X' is not in the dna alphabet") as info:
        load_sequences(path, seq_len=8)
    assert "--errors skip" in str(info.value)
    lines = _write(tmp_path / "bad.txt", "ACGT\nACGN\n")
    with pytest.raises(UserError, match="line 2, position 4: 'N'"):
        load_sequences(lines, seq_len=8)
    assert len(load_sequences(lines, seq_len=8, alphabet="ACGTN").ids) == 2  # a custom alphabet holds it


def test_errors_skip_drops_bad_records_and_counts_them(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.fa", ">a\nACGT\n>b\nACXGT\n>c\nNNNN\n>d\nGG\n")
    corpus = load_sequences(path, seq_len=8, errors="skip")
    assert corpus.vocab.decode_batch(corpus.ids) == ["ACGT", "GG"]
    report = sequence_report(corpus)
    assert report["skipped_symbols"] == 2 and report["kept"] == 2 and report["records"] == 4
    assert "record 2 (b), position 3" in report["first_skipped"]


def test_records_longer_than_seq_len_under_each_policy(tmp_path: Path) -> None:
    path = _write(tmp_path / "long.txt", "ACGTACGT\nACG\nACGTA\n")
    with pytest.raises(UserError, match="line 1 is 8 symbols long, longer than seq-len 5") as info:
        load_sequences(path, seq_len=5)
    assert "--long truncate" in str(info.value)
    cut = load_sequences(path, seq_len=5, long="truncate")
    assert cut.vocab.decode_batch(cut.ids) == ["ACGTA", "ACG", "ACGTA"]
    assert sequence_report(cut)["truncated"] == 1
    kept = load_sequences(path, seq_len=5, long="skip")
    assert kept.vocab.decode_batch(kept.ids) == ["ACG", "ACGTA"]
    assert sequence_report(kept)["skipped_long"] == 1
    with pytest.raises(UserError, match="longer than seq-len 5") as info:  # eval --reference: the run's settings
        load_sequences(path, seq_len=5, settings_fixed=True)
    assert "--" not in str(info.value.hint) and "seq-len 5 and long=error" in str(info.value.hint)


def test_seq_len_512_and_the_cache_is_reused(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    text = "".join("".join(rng.choice(list("ACGT"), size=int(n))) + "\n" for n in rng.integers(400, 512, size=20))
    path = _write(tmp_path / "long.txt", text)
    first = load_sequences(path, seq_len=512)
    assert first.ids.shape == (20, 512)
    again = load_sequences(path, seq_len=512)
    assert again.cache_path == first.cache_path
    other = load_sequences(path, seq_len=512, alphabet="ACGTN")
    assert other.cache_path != first.cache_path  # the alphabet is part of the key


def test_a_missing_file_or_default_says_what_to_give(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError, match="no default corpus: give one with --corpus"):
        resolve_sequences(None)
    with pytest.raises(UserError, match="not found"):
        load_sequences(tmp_path / "none.fa")
    monkeypatch.setenv("CHARGAN_SHARED_DIR", str(tmp_path))
    with pytest.raises(UserError, match="shared data folder") as info:
        resolve_sequences("fbgan-genes")
    assert "CHARGAN_SHARED_DIR" in str(info.value)


def test_a_missing_biopython_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_bio(name: str, *args: object, **kwargs: object) -> object:
        if name == "Bio" or name.startswith("Bio."):
            raise ImportError("No module named 'Bio'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_bio)
    with pytest.raises(UserError, match=r"needs Biopython") as info:
        load_sequences(_write(tmp_path / "x.fa", FASTA), seq_len=16)
    assert "pip install 'chargan[bio]'" in str(info.value)


@pytest.mark.skipif(not SHARED_GENES.is_dir(), reason="the shared gene data is not here")
def test_the_shared_gene_files() -> None:
    genes = load_sequences("fbgan-genes", seq_len=156)
    assert genes.ids.shape == (3155, 156)
    amp = load_sequences(SHARED_GENES / "amp_dataset.tsv", seq_len=306, column="1", filter="2=1")
    assert len(amp.ids) == 2600
