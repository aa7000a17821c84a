"""Reading biological sequence files: FASTA, one sequence per line, or a column of a TSV / CSV table.

Each reader yields ``(record, sequence)`` pairs in file order: ``record``
names the record for messages (``record 3 (sp|P01542|CRAM_CRAAB)``, ``line
17``, ``row 5``), ``sequence`` is its text with whitespace removed, not yet
checked against any alphabet. Every file may be gzip-compressed (recognised
by its magic bytes).

- FASTA (headers, sequences wrapped over several lines, any case) is parsed
  by Biopython's ``Bio.SeqIO``: the optional extra ``chargan[bio]``.
- Plain files: one sequence per line, blank lines skipped (the text corpus
  reader, `chargan.corpora.sources.read_line_batches`).
- Tables: the sequence ``column`` (a header name, or a number counted from 1
  as ``cut -f`` counts, for a file without a header row) of a tab-separated
  file (comma-separated for ``.csv``), keeping only the rows whose
  ``filter`` column (``label=1``) holds the given value. Tab-separated
  cells are taken as they are (no quoting, as ``cut`` reads them); a
  ``.csv`` may quote its cells.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chargan.corpora.errors import CorpusError, CorpusFormatError
from chargan.corpora.sources import read_line_batches

#: How a sequence file is read; ``auto`` goes by the file name, then by a leading ``>``.
FORMATS = ("auto", "fasta", "lines", "table")
FASTA_SUFFIXES = (".fa", ".fasta", ".fas", ".fna", ".ffn", ".faa", ".frn", ".mpfa")
TABLE_SUFFIXES = (".tsv", ".csv", ".tab")
BIO_HINT = "install it with: pip install 'chargan[bio]'"
_GZIP_MAGIC = b"\x1f\x8b"


def require_biopython(what: str) -> None:
    """A `CorpusError` (a `UserError`) naming the extra when Biopython (``Bio``) is not installed: the one
    check for every part that needs it (FASTA reading here, the genes family's valid-gene figure)."""
    try:
        __import__("Bio")  # only whether it imports: the readers import what they use
    except ImportError:
        raise CorpusError(f"{what} needs Biopython, which is not installed", hint=BIO_HINT) from None


def _suffix(path: Path) -> str:
    """The file's format suffix, past a ``.gz``: ``genes.fa.gz`` -> ``.fa``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def open_text(path: Path) -> TextIO:
    """``path`` opened as UTF-8 text, gunzipped on the fly when it is gzip data."""
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == _GZIP_MAGIC
        if gz:
            return gzip.open(path, "rt", encoding="utf-8", newline="")
        return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise CorpusError(f"cannot open {path}: {exc.strerror or exc}",
                          hint="check the path and its permissions") from None


def detect_format(path: Path, fmt: str = "auto") -> str:
    """``fmt``, or for ``auto`` the format of ``path``: by its name, else FASTA when it starts with ``>``."""
    if fmt != "auto":
        return fmt
    suffix = _suffix(path)
    if suffix in FASTA_SUFFIXES:
        return "fasta"
    if suffix in TABLE_SUFFIXES:
        return "table"
    with open_text(path) as f:
        try:
            first = next((line for line in f if line.strip()), "")
        except (UnicodeDecodeError, EOFError, OSError) as exc:
            raise CorpusFormatError(f"{path} is not a readable text file: {exc}") from None
    return "fasta" if first.lstrip().startswith(">") else "lines"


@dataclass(frozen=True)
class TableColumns:
    """Which column holds the sequences and which rows to keep (`parse_filter`)."""

    column: str = "sequence"
    filter: str | None = None  # "COLUMN=VALUE"


def parse_filter(spec: str | None) -> tuple[str, str] | None:
    """``"label=1"`` -> ``("label", "1")``; a `CorpusError` for anything else."""
    if spec is None:
        return None
    name, sep, value = spec.partition("=")
    if not sep or not name.strip():
        raise CorpusError(f"a row filter is COLUMN=VALUE, got {spec!r}", hint="for example --filter label=1")
    return name.strip(), value.strip()


def read_sequences(path: Path, fmt: str, columns: TableColumns = TableColumns()) -> Iterator[tuple[str, str]]:
    """``(record, sequence)`` of every record of ``path`` read as ``fmt`` (see the module docstring)."""
    fmt = detect_format(path, fmt)
    if fmt != "table" and (columns.filter is not None or columns.column != TableColumns.column):
        # A column or a filter on a file that is not read as a table would be ignored: say so instead.
        raise CorpusError(f"{path} reads as {fmt}, not as a table, so a column or a row filter cannot apply",
                          hint="give --format table if it is a TSV/CSV table, or drop --column and --filter")
    if fmt == "fasta":
        return _fasta(path)
    if fmt == "table":
        return _table(path, columns)
    return _lines(path)


def _fasta(path: Path) -> Iterator[tuple[str, str]]:
    require_biopython(f"reading the FASTA file {path}")
    from Bio import SeqIO

    with open_text(path) as handle:
        try:
            for i, record in enumerate(SeqIO.parse(handle, "fasta"), 1):
                yield f"record {i} ({record.id})", "".join(str(record.seq).split())
        except (ValueError, UnicodeDecodeError, EOFError, OSError) as exc:
            raise CorpusFormatError(f"{path} is not a readable FASTA file: {exc}",
                                    hint="records start with a '>' header line, followed by the sequence") from None


def _lines(path: Path) -> Iterator[tuple[str, str]]:
    number = 0
    for batch in read_line_batches(path, skip_blank=False):
        for line in batch:
            number += 1
            if line.strip():
                yield f"line {number}", "".join(line.split())


def _column_index(header: list[str] | None, column: str, path: Path) -> int:
    if column.isdigit():
        if int(column) < 1:
            raise CorpusError(f"table columns are counted from 1, got {column}")
        return int(column) - 1
    if header is None or column not in header:
        known = f" (its header: {', '.join(header)})" if header else ""
        raise CorpusFormatError(f"{path} has no column {column!r}{known}",
                                hint="name a column of the header row, or give its number (counted from 1)")
    return header.index(column)


def _table(path: Path, columns: TableColumns) -> Iterator[tuple[str, str]]:
    wanted = parse_filter(columns.filter)
    named = not columns.column.isdigit() or (wanted is not None and not wanted[0].isdigit())
    with open_text(path) as handle:
        try:
            if _suffix(path) == ".csv":
                reader = csv.reader(handle, delimiter=",")
            else:  # tab-separated has no quoting: a '"' in a cell is data, not the start of a cell spanning rows
                reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None) if named else None
            col = _column_index(header, columns.column, path)
            keep = None if wanted is None else (_column_index(header, wanted[0], path), wanted[1])
            first_row = 2 if named else 1
            for number, row in enumerate(reader, first_row):
                if not row or not any(cell.strip() for cell in row):
                    continue
                if max(col, keep[0] if keep else 0) >= len(row):
                    raise CorpusFormatError(f"{path.name}: row {number} has {len(row)} columns, fewer than the "
                                            f"{max(col, keep[0] if keep else 0) + 1} needed; file: {path}")
                if keep is not None and row[keep[0]].strip() != keep[1]:
                    continue
                yield f"row {number}", "".join(row[col].split())
        except (csv.Error, UnicodeDecodeError, EOFError, OSError) as exc:
            raise CorpusFormatError(f"{path} is not a readable table: {exc}") from None


