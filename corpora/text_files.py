"""Local corpora: one UTF-8 text file, or a folder of ``*.txt`` files.

A folder contributes its ``*.txt`` files (not sub-folders), sorted by name and
read one after another. Every file is UTF-8, one sentence per line; blank
lines are skipped. A file with no text line is an error when it is the whole
corpus; inside a folder it is skipped, and a folder with no text line at all
is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from chargan.corpora.billion_word import ROOT_DIRNAME, looks_like_billion_word
from chargan.corpora.errors import CorpusFormatError, CorpusNotFoundError
from chargan.corpora.sources import FileSource, safe_slug

SPEC_HINT = (
    "a corpus is 'demo' (built in), 'billion_word', or the path of a UTF-8 text file "
    "(one sentence per line) or of a folder of *.txt files"
)


class TextFileSource(FileSource):
    """A single text file."""

    kind = "text_file"

    def __init__(self, path: Path) -> None:
        super().__init__([path])
        self.path = self.root = path
        self.name = str(path)
        self.slug = safe_slug(path.stem or path.name)
        self.identity = f"file:{path}"

    def on_empty_file(self, path: Path) -> None:
        raise CorpusFormatError(
            f"corpus file {path} holds no text lines (it is empty or only blank lines)",
            hint="give a UTF-8 text file with one sentence per line",
        )

    def describe(self, n_lines: int, limited: bool = False) -> str:
        return f"text file {self.path} ({'first ' * limited}{n_lines:,} lines)"


class TextFolderSource(FileSource):
    """The ``*.txt`` files of a folder, sorted by name."""

    kind = "text_folder"

    def __init__(self, folder: Path, files: list[Path]) -> None:
        super().__init__(files)
        self.folder = self.root = folder
        self.name = str(folder)
        self.slug = safe_slug(folder.name)
        self.identity = f"folder:{folder}"

    def empty_error(self) -> CorpusFormatError:
        return CorpusFormatError(
            f"corpus folder {self.folder} holds no text lines (its *.txt files are empty or only blank lines)",
            hint="give UTF-8 text files with one sentence per line",
        )

    def describe(self, n_lines: int, limited: bool = False) -> str:
        n = len(self.files)
        return f"text folder {self.folder} ({n} *.txt file{'s' * (n != 1)}, {'first ' * limited}{n_lines:,} lines)"


def text_source(spec: str | os.PathLike[str]) -> TextFileSource | TextFolderSource:
    """The source for a local path, or a `CorpusNotFoundError` saying what is wrong."""
    given = Path(spec).expanduser()
    path = given.resolve()
    if not path.exists():
        raise CorpusNotFoundError(
            f"corpus {str(spec)!r} not found: no file or folder at {path}",
            hint=SPEC_HINT,
        )
    if path.is_file():
        return TextFileSource(path)
    if not path.is_dir():
        raise CorpusFormatError(f"corpus path {path} is neither a regular file nor a folder", hint=SPEC_HINT)
    try:
        files = sorted((p for p in path.iterdir() if p.suffix == ".txt" and p.is_file()), key=lambda p: p.name)
    except OSError as exc:
        raise CorpusNotFoundError(f"cannot list corpus folder {path}: {exc.strerror or exc}") from None
    if not files:
        if looks_like_billion_word(path) or looks_like_billion_word(path / ROOT_DIRNAME):
            hint = (
                f"this looks like the One Billion Word benchmark: use the corpus 'billion_word' with --data-dir {path}"
            )
        else:
            hint = "sub-folders are not searched; put the text in *.txt files there, or pass a file's path directly"
        raise CorpusNotFoundError(f"corpus folder {path} holds no *.txt files", hint=hint)
    return TextFolderSource(path, files)


def read_text_lines(spec: str | os.PathLike[str]) -> list[str]:
    """The text lines of a local file or folder, with a corpus's checks and errors.

    For small reference sets (``chargan eval --reference``): the lines are
    returned in memory, blank lines dropped, not cut to any length.
    """
    source = text_source(spec)
    lines = [line for _, batch in source.batches() for line in batch]
    if not lines:
        raise source.empty_error()
    return lines
