"""Sequence corpora (genes, peptides): a file of records -> checked sequences -> the encoded, cached array.

    from chargan.corpora.sequences import load_sequences
    corpus = load_sequences("genes.fa.gz", alphabet="dna", seq_len=156)
    corpus.ids      # read-only memmap (n, 156) uint8: 0 pads, A C G T are 1..4
    corpus.vocab    # the `Alphabet`

The alphabet is fixed, not fitted (`chargan.corpora.units.Alphabet`):
lower case is read as upper case for an alphabet without lower-case
letters. A record holding a symbol outside it is an error naming the file,
the record, the position and the symbol; under ``errors="skip"`` the record
is dropped instead and counted. A record longer than ``seq_len`` is an
error too, unless ``long`` is ``truncate`` (cut to ``seq_len``) or ``skip``
(dropped); both are counted. The counts go into the cache's manifest
(``"sequences"``, see `sequence_report`). Encoding and caching are the text
corpora's (`chargan.corpora.cache.open_or_build`): the same keys, the same
atomic build. The reading options (format, column, filter) are part of the
source's fingerprint, the alphabet and the policies part of the settings, so
each combination has its own cache.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chargan.corpora.cache import EncodedCorpus, open_or_build
from chargan.corpora.errors import CorpusError, CorpusFormatError, CorpusNotFoundError, checked_int
from chargan.corpora.locations import corpora_cache_dir
from chargan.corpora.manifest import CacheInvalid, read_manifest
from chargan.corpora.seqfiles import FORMATS, TableColumns, detect_format, read_sequences
from chargan.corpora.sources import CorpusSource, file_entry, safe_slug
from chargan.corpora.units import Alphabet, VocabularyError

#: A symbol outside the alphabet: stop with an error (strict) or drop the record and count it (skip).
SYMBOL_POLICIES = ("strict", "skip")
#: A record longer than seq_len: stop with an error, cut it to seq_len, or drop it (both counted).
LONG_POLICIES = ("error", "truncate", "skip")
#: Records per batch handed to the cache build.
_BATCH = 4096
#: Environment variable naming the shared data folder (holding ``corpora/genes/``).
SHARED_ENV = "CHARGAN_SHARED_DIR"
#: Built-in sequence sets by name: a file of the shared data folder. ``fbgan-genes`` is FBGAN's training set,
#: 3,155 protein-coding DNA sequences of 39-156 bases (``corpora/genes/README.md`` there).
BUILTIN_SEQUENCES = {"fbgan-genes": "corpora/genes/uniprot_genes_under_50aa.txt"}


@dataclass
class SequenceReport:
    """What reading a sequence file kept, cut and dropped (the manifest's ``"sequences"``)."""

    records: int = 0  # records read (non-empty)
    kept: int = 0
    skipped_symbols: int = 0  # dropped: a symbol outside the alphabet (errors="skip")
    truncated: int = 0  # cut to seq_len (long="truncate")
    skipped_long: int = 0  # dropped: longer than seq_len (long="skip")
    first_skipped: str | None = None  # why the first dropped record was dropped

    def to_json(self) -> dict:
        return dict(vars(self))


class SequenceSource(CorpusSource):
    """The checked sequences of one file, as the lines the cache build encodes."""

    kind = "sequences"

    def __init__(self, path: Path, alphabet: Alphabet, seq_len: int, *, fmt: str = "auto",
                 columns: TableColumns = TableColumns(), errors: str = "strict", long: str = "error",
                 settings_fixed: bool = False) -> None:
        self.path = self.root = path
        self.alphabet, self.seq_len, self.columns = alphabet, seq_len, columns
        self.format = detect_format(path, fmt)
        self.errors, self.long = errors, long
        self.settings_fixed = settings_fixed  # read with a run's settings: hints name no flag that changes them
        self.name = str(path)
        self.slug = safe_slug(path.name.split(".")[0] or path.name)
        self.identity = f"sequences:{path}"
        self.counts = SequenceReport()
        self.show_progress = path.stat().st_size > (32 << 20)
        upper = not any(c.islower() for c in alphabet.symbols)
        self._fold = str.upper if upper else (lambda s: s)
        self._outside = re.compile(f"[^{re.escape(alphabet.symbols + alphabet.pad)}]")

    def paths(self) -> list[Path]:
        return [self.path]

    def fingerprint_data(self) -> dict:
        try:
            entry = file_entry(self.path)
        except OSError as exc:
            raise CorpusError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        read = {"format": self.format}
        if self.format == "table":
            read.update(column=self.columns.column, filter=self.columns.filter)
        return {"kind": self.kind, "files": [entry], "read": read}

    def describe(self, n_lines: int, limited: bool = False) -> str:
        return f"{self.format} file {self.path} ({'first ' * limited}{n_lines:,} {self.alphabet.name} sequences)"

    def empty_error(self) -> CorpusFormatError:
        dropped = self.counts.records - self.counts.kept
        why = f"; {dropped} records were dropped (first: {self.counts.first_skipped})" if dropped else ""
        return CorpusFormatError(f"sequence file {self.path} holds no usable {self.alphabet.name} sequences{why}",
                                 hint="check the format, column and filter, and the alphabet")

    def batches(self) -> Iterator[tuple[str, list[str]]]:
        self.counts = SequenceReport()
        batch: list[str] = []
        for record, raw in read_sequences(self.path, self.format, self.columns):
            if not raw:
                continue
            sequence = self.check(record, self._fold(raw))
            if sequence is not None:
                batch.append(sequence)
                if len(batch) >= _BATCH:
                    yield self.path.name, batch
                    batch = []
        if batch:
            yield self.path.name, batch

    def check(self, record: str, sequence: str) -> str | None:
        """``sequence`` as kept (perhaps cut), or None when the policies drop it; counted in `counts`."""
        report = self.counts
        report.records += 1
        bad = self._outside.search(sequence)
        if bad is not None:
            what = (f"{record}, position {bad.start() + 1}: {bad.group()!r} is not in the {self.alphabet.name} "
                    f"alphabet ({self.alphabet.symbols})")
            if self.errors == "strict":
                fixed = self._fixed_hint(f"{self.alphabet.name} alphabet and errors={self.errors}")
                raise CorpusFormatError(f"{self.path.name}: {what}; file: {self.path}",
                                        hint=fixed or "fix or remove that record, choose an alphabet that holds the "
                                                      "symbol (--alphabet), or pass --errors skip to drop such records")
            report.skipped_symbols += 1
            report.first_skipped = report.first_skipped or what
            return None
        if len(sequence) > self.seq_len:
            if self.long == "error":
                raise CorpusFormatError(
                    f"{self.path.name}: {record} is {len(sequence)} symbols long, longer than seq-len "
                    f"{self.seq_len}; file: {self.path}",
                    hint=self._fixed_hint(f"seq-len {self.seq_len} and long={self.long}")
                    or "raise --seq-len, or pass --long truncate (cut it) or --long skip (drop it)")
            if self.long == "skip":
                report.skipped_long += 1
                report.first_skipped = report.first_skipped or f"{record} is {len(sequence)} symbols long"
                return None
            report.truncated += 1
            sequence = sequence[: self.seq_len]
        report.kept += 1
        return sequence

    def _fixed_hint(self, settings: str) -> str | None:
        """The hint for a refused record when the settings are a run's (`settings_fixed`), else None."""
        if not self.settings_fixed:
            return None
        return f"fix or remove that record: this file is read with the run's own {settings}"

    def manifest_extra(self) -> dict:
        """What the manifest records beside the cache's own fields: its `counts`."""
        return {"sequences": self.counts.to_json()}


def shared_dir() -> Path:
    """The shared data folder: ``$CHARGAN_SHARED_DIR``, else ``shared/`` beside the chargan checkout."""
    env = os.environ.get(SHARED_ENV, "").strip()
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "shared"


def resolve_sequences(spec: str | os.PathLike[str] | None) -> Path:
    """The file a corpus spec names: a built-in set (`BUILTIN_SEQUENCES`) or a path; a `CorpusNotFoundError`
    saying what to give when there is none."""
    if spec is None:
        raise CorpusNotFoundError("this config has no default corpus: give one with --corpus FILE",
                                  hint="a FASTA file, a file of one sequence per line, or a TSV/CSV table")
    if isinstance(spec, str) and spec in BUILTIN_SEQUENCES:
        path = shared_dir() / BUILTIN_SEQUENCES[spec]
        if not path.is_file():
            raise CorpusNotFoundError(
                f"the built-in sequence set {spec} is read from the shared data folder, but {path} is not there",
                hint=f"point ${SHARED_ENV} at the folder holding corpora/genes/, or give a file with --corpus")
        return path
    path = Path(spec).expanduser().resolve()
    if not path.is_file():
        raise CorpusNotFoundError(f"sequence file {str(spec)!r} not found (looked for {path})",
                                  hint="give a FASTA file, a file of one sequence per line, or a TSV/CSV table")
    return path


def sequence_alphabet(spec: str) -> Alphabet:
    """``dna``, ``rna``, ``protein`` or the symbols themselves (``ACGTN``), as an `Alphabet`; else a `CorpusError`."""
    try:
        return Alphabet.parse(spec)
    except VocabularyError as exc:
        raise CorpusError(f"alphabet {spec!r}: {exc.message}", hint=exc.hint) from None


def sequence_settings(seq_len: int, alphabet: Alphabet, max_lines: int | None = None, errors: str = "strict",
                      long: str = "error") -> dict:
    """The validated cache settings of a sequence corpus (the same keys as a text corpus's, plus ``long``)."""
    if errors not in SYMBOL_POLICIES:
        raise CorpusError(f"errors must be one of {', '.join(SYMBOL_POLICIES)}, got {errors!r}")
    if long not in LONG_POLICIES:
        raise CorpusError(f"long must be one of {', '.join(LONG_POLICIES)}, got {long!r}")
    return {"seq_len": checked_int("seq_len", seq_len, 1),
            "max_lines": None if max_lines is None else checked_int("max_lines", max_lines, 1),
            "units": "alphabet", "alphabet": alphabet.symbols, "alphabet_name": alphabet.name,
            "errors": errors, "long": long}


def load_sequences(path: str | os.PathLike[str] | None, *, alphabet: str = "dna", seq_len: int = 156, fmt: str = "auto",
                   column: str = "sequence", filter: str | None = None, errors: str = "strict", long: str = "error",
                   max_lines: int | None = None, cache_dir: Path | None = None, progress: bool = True,
                   settings_fixed: bool = False) -> EncodedCorpus:
    """The sequences of the file ``path`` (or built-in set) encoded over ``alphabet``, from the cache when possible.

    ``fmt`` is one of `FORMATS`; ``column`` and ``filter`` (``"label=1"``)
    apply to tables; ``errors`` (`SYMBOL_POLICIES`) and ``long``
    (`LONG_POLICIES`) are the policies of the module docstring; ``max_lines``
    keeps the first sequences kept. ``settings_fixed`` says the settings are
    a trained run's (``chargan eval --reference``): the error for a refused
    record then suggests no flag that would change them. Raises
    `CorpusError` (a `chargan.errors.UserError`) for anything the user can fix.
    """
    if fmt not in FORMATS:
        raise CorpusError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    file = resolve_sequences(path)
    letters = sequence_alphabet(alphabet)
    settings = sequence_settings(seq_len, letters, max_lines, errors, long)
    source = SequenceSource(file, letters, seq_len, fmt=fmt, columns=TableColumns(column, filter), errors=errors,
                            long=long, settings_fixed=settings_fixed)
    return open_or_build(source, settings, corpora_cache_dir(cache_dir), progress=progress)


def sequence_report(corpus: EncodedCorpus) -> dict:
    """The counts a sequence corpus's build recorded (`SequenceReport.to_json`); empty when there are none."""
    try:
        return dict(read_manifest(corpus.cache_path).get("sequences") or {})
    except CacheInvalid:
        return {}
