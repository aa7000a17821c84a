"""The units seam: the moved vocabularies, their old import paths, the fixed alphabet, the kinds."""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import chargan.corpora.units as units
from chargan.corpora import corpus_settings, load_corpus
from chargan.corpora.units import (
    ALPHABETS,
    KINDS,
    PAD_ID,
    UNITS,
    Alphabet,
    SubwordVocabulary,
    Vocabulary,
    VocabularyError,
    load_vocabulary,
)
from chargan.errors import UserError

REPO = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ old homes
@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("chargan.text.vocab", ["Vocabulary", "CharCounts", "VocabularyError", "read_vocabulary_file", "PAD_ID",
                                "UNK_ID", "UNK_DISPLAY"]),
        ("chargan.text.subword", ["SubwordVocabulary", "AnyVocabulary", "load_vocabulary", "MAX_PIECE_CHARS",
                                  "TRAIN_SAMPLE_LINES"]),
    ],
)
def test_old_imports_still_work_and_warn(module, names):
    old = __import__(module, fromlist=["_"])
    for name in names:
        with pytest.warns(DeprecationWarning, match=rf"{module} is deprecated; import from chargan.corpora.units"):
            value = getattr(old, name)
        assert value is getattr(units, name)
    with pytest.raises(AttributeError):
        old.no_such_name  # noqa: B018


def test_from_import_of_an_old_home_warns():
    with pytest.warns(DeprecationWarning, match="chargan.text.vocab is deprecated"):
        from chargan.text.vocab import Vocabulary as OldVocabulary
    assert OldVocabulary is Vocabulary
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # chargan/__init__.py still names the old homes
        import chargan

        assert chargan.Vocabulary is Vocabulary and chargan.SubwordVocabulary is SubwordVocabulary


def test_the_library_itself_never_imports_an_old_home():
    owned = [*REPO.joinpath("corpora").rglob("*.py"), *REPO.joinpath("benchmarks").glob("*.py")]
    owned += [REPO / "chargan" / "text" / name for name in ("evaluation.py", "ngrams.py", "metrics.py")]
    for path in owned:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                assert name not in ("chargan.text.vocab", "chargan.text.subword"), f"{path} imports {name}"
    # Loading a corpus end to end raises no DeprecationWarning (a fresh interpreter: nothing imported yet).
    code = ("import warnings; warnings.simplefilter('error', DeprecationWarning)\n"
            "import chargan.corpora, chargan.corpora.units\n"
            "c = chargan.corpora.load_corpus('demo', max_lines=50, progress=False)\n"
            "assert c.vocab.decode_batch(c.ids[:1])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ------------------------------------------------------------ saved vocabularies
def test_saved_vocabulary_files_keep_their_bytes(tmp_path):
    chars = Vocabulary(("a", "é", " "))
    chars.save(tmp_path / "c.json")
    # What run directories and caches hold since format 1: must load, and be written the same.
    assert (tmp_path / "c.json").read_text(encoding="utf-8") == (
        '{"format": "chargan.vocab/1", "pad_id": 0, "unk_id": 1, "chars": ["a", "é", " "]}')
    assert load_vocabulary(tmp_path / "c.json") == chars

    pieces = SubwordVocabulary.train(["the cat sat on the mat"] * 40 + ["a dog ran far"] * 40, vocab_size=30)
    pieces.save(tmp_path / "p.json")
    want = {"format": "chargan.subword/1", "pad_id": 0, "unk_id": 1, "size": len(pieces),
            "model": base64.b64encode(pieces.model).decode("ascii")}
    assert (tmp_path / "p.json").read_text(encoding="utf-8") == json.dumps(want)
    assert load_vocabulary(tmp_path / "p.json") == pieces


def test_load_vocabulary_tells_every_kind_apart(tmp_path):
    for vocab in (Vocabulary(("x", "y")), Alphabet.named("protein"), Alphabet("01", pad=".")):
        vocab.save(tmp_path / "v.json")
        assert load_vocabulary(tmp_path / "v.json") == vocab
    (tmp_path / "odd.json").write_text('{"format": "something else"}')
    with pytest.raises(VocabularyError, match="not a chargan vocabulary"):
        load_vocabulary(tmp_path / "odd.json")


# ------------------------------------------------------------------ the alphabet
def test_builtin_alphabets():
    assert Alphabet.named("DNA").symbols == "ACGT" and Alphabet.named("rna").symbols == "ACGU"
    protein = Alphabet.named("protein")
    assert len(protein.symbols) == 20 and set(protein.symbols).isdisjoint("BJOUXZ")
    assert len(protein) == 21 and protein.dtype == np.uint8
    assert set(ALPHABETS) == {"dna", "rna", "protein"}
    assert Alphabet.parse("dna") == Alphabet.named("dna") and Alphabet.parse("XY").name == "custom"
    with pytest.raises(UserError, match="unknown alphabet"):
        Alphabet.named("klingon")


def test_alphabet_encodes_pads_and_decodes_back():
    dna = Alphabet.named("dna")
    ids = dna.encode_batch(["ACGTTA", "GG", "", "ACGTACGTAC", "AC-GT"], 8)
    assert ids.shape == (5, 8) and ids.dtype == np.uint8
    assert ids[0].tolist() == [1, 2, 3, 4, 4, 1, PAD_ID, PAD_ID]
    assert (ids[2] == PAD_ID).all()
    assert ids[4].tolist() == [1, 2, PAD_ID, 3, 4, 0, 0, 0]  # a gap is padding
    assert dna.decode_batch(ids) == ["ACGTTA", "GG", "", "ACGTACGT", "AC-GT"]
    assert dna.decode(dna.encode("TTAC", 4)) == "TTAC"


@pytest.mark.parametrize(
    ("lines", "first_line", "where"),
    [
        (["ACGT", "ACNT"], 1, r"line 2, position 3: 'N'"),
        (["acgt"], 7, r"line 7, position 1: 'a'"),
        (["AC\0G"], 1, r"line 1, position 3: '\\x00'"),
        (["ACG😀"], 1, r"line 1, position 4: '😀'"),
    ],
)
def test_symbol_outside_the_alphabet_names_line_position_and_symbol(lines, first_line, where):
    with pytest.raises(VocabularyError, match=where + r" is not in the dna alphabet \(ACGT\)"):
        Alphabet.named("dna").encode_batch(lines, 8, first_line=first_line)


def test_only_the_kept_part_of_a_line_is_checked():
    assert Alphabet.named("dna").encode_batch(["ACGTNNNN"], 4).tolist() == [[1, 2, 3, 4]]


@pytest.mark.parametrize(
    ("symbols", "pad", "what"),
    [("", "-", "at least one"), ("AAC", "-", "unique"), ("AC", "A", "pad symbol"), ("AC", "--", "pad symbol"),
     ("A\nC", "-", "newline")],
)
def test_bad_alphabets_are_refused(symbols, pad, what):
    with pytest.raises(VocabularyError, match=what):
        Alphabet(symbols, pad=pad)


# ------------------------------------------------------------------ the kinds
def test_units_lists_the_loader_kinds_once():
    assert UNITS == ("char", "subword")
    assert set(UNITS) < set(KINDS) and all(KINDS[name].name == name for name in KINDS)
    for kind in KINDS.values():
        assert callable(kind.encode) and callable(kind.start_fit) and isinstance(kind.decoded_lines, bool)
    with pytest.raises(UserError, match="units must be one of char, subword, got 'alphabet'"):
        load_corpus("demo", units="alphabet", progress=False)


def test_settings_keep_their_keys_and_order():
    assert list(corpus_settings(units="subword", vocab_size=500).items()) == [
        ("seq_len", 32), ("max_lines", None), ("units", "subword"), ("max_vocab", None), ("vocab_size", 500),
        ("errors", "strict")]
    assert list(corpus_settings(max_vocab=64).items()) == [
        ("seq_len", 32), ("max_lines", None), ("units", "char"), ("max_vocab", 64), ("vocab_size", None),
        ("errors", "strict")]
    with pytest.raises(UserError, match="vocab_size must be between 3 and 65536, got 2"):
        corpus_settings(units="subword", vocab_size=2)


# ------------------------------------------------------- a kind outside UNITS, through the build
def alphabet_settings(seq_len: int, alphabet: str) -> dict:
    settings = {"seq_len": seq_len, "max_lines": None, "units": "alphabet", "max_vocab": None, "vocab_size": None,
                "errors": "strict"}
    settings.update(KINDS["alphabet"].key_settings({"alphabet": alphabet}))
    return settings


def test_an_alphabet_plugs_into_the_cache_build(tmp_path, monkeypatch):
    from chargan.corpora.cache import EncodedCorpus, open_or_build
    from chargan.corpora.text_files import text_source

    monkeypatch.setattr("chargan.corpora.units.alphabet.ENCODE_CHUNK_IDS", 16)  # 2 lines per chunk at seq_len 8
    (tmp_path / "reads.txt").write_text("ACGTACGTAA\nGGC\n\nTTTT\nA-C\n")
    corpus = open_or_build(text_source(tmp_path / "reads.txt"), alphabet_settings(8, "dna"), tmp_path / "c",
                           progress=False)
    assert isinstance(corpus.vocab, Alphabet) and corpus.ids.dtype == np.uint8
    assert corpus.ids.tolist() == [[1, 2, 3, 4, 1, 2, 3, 4], [3, 3, 2, 0, 0, 0, 0, 0], [4, 4, 4, 4, 0, 0, 0, 0],
                                   [1, 0, 2, 0, 0, 0, 0, 0]]
    assert list(corpus.lines()) == ["ACGTACGT", "GGC", "TTTT", "A-C"]
    assert corpus.vocab.decode_batch(corpus.ids) == list(corpus.lines())
    again = EncodedCorpus.open(corpus.cache_path)
    assert again.vocab == Alphabet.named("dna") and again.settings["alphabet"] == "ACGT"
    other = open_or_build(text_source(tmp_path / "reads.txt"), alphabet_settings(8, "ACGTN"), tmp_path / "c",
                          progress=False)
    assert other.cache_path != corpus.cache_path  # the alphabet is the kind's part of the key

    (tmp_path / "bad.txt").write_text("ACGT\nACGT\nACXT\n")
    with pytest.raises(UserError, match=r"corpus .*bad\.txt: line 3, position 3: 'X' is not in the dna") as err:
        open_or_build(text_source(tmp_path / "bad.txt"), alphabet_settings(8, "dna"), tmp_path / "bad",
                      progress=False)
    assert "alphabet that holds the symbol" in err.value.hint
    assert [p.name for p in (tmp_path / "bad").iterdir()] == []  # no cache, no temporary folder
