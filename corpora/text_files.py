"""Local corpora: one text file, a folder of text files, or a glob pattern.

A folder contributes its ``*.txt`` and ``*.gz`` files (not sub-folders); a
glob (``data/*.txt.gz``, ``shards/**/part-*``) contributes the regular files
it matches. Either way the files are sorted by path and read one after
another. Every file is UTF-8 (plain, or gzip-compressed: recognised by its
magic bytes), one sentence per line; blank lines are skipped. A file with no
text line is an error when it is the whole corpus; among several it is
skipped, and several files with no text line at all are an error.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from chargan.corpora.billion_word import ROOT_DIRNAME, looks_like_billion_word
from chargan.corpora.errors import CorpusFormatError, CorpusNotFoundError
from chargan.corpora.sources import FileSource, safe_slug

SPEC_HINT = (
    "a corpus is 'demo' (built in), 'billion_word', 'hf:<dataset>[:<config>]', or the path of a "
    "UTF-8 text file (one sentence per line; plain or gzip), of a folder of *.txt / *.gz files, "
    "or a glob pattern such as 'data/*.txt.gz' (quote it)"
)
#: File names a folder contributes.
FOLDER_SUFFIXES = (".txt", ".gz")
_GLOB_CHARS = frozenset("*?[")


class TextFileSource(FileSource):
    """A single text file."""

    kind = "text_file"

    def __init__(self, path: Path, errors: str = "strict") -> None:
        super().__init__([path], errors)
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
    """The ``*.txt`` and ``*.gz`` files of a folder, sorted by name."""

    kind = "text_folder"

    def __init__(self, folder: Path, files: list[Path], errors: str = "strict") -> None:
        super().__init__(files, errors)
        self.folder = self.root = folder
        self.name = str(folder)
        self.slug = safe_slug(folder.name)
        self.identity = f"folder:{folder}"

    def empty_error(self) -> CorpusFormatError:
        return CorpusFormatError(
            f"corpus folder {self.folder} holds no text lines (its text files are empty or only blank lines)",
            hint="give UTF-8 text files with one sentence per line",
        )

    def describe(self, n_lines: int, limited: bool = False) -> str:
        n = len(self.files)
        return f"text folder {self.folder} ({n} text file{'s' * (n != 1)}, {'first ' * limited}{n_lines:,} lines)"


class TextGlobSource(FileSource):
    """The regular files a glob pattern matches, sorted by path."""

    kind = "text_glob"

    def __init__(self, pattern: str, files: list[Path], errors: str = "strict") -> None:
        super().__init__(files, errors)
        self.pattern = pattern
        self.root = None
        self.name = pattern
        self.slug = safe_slug(Path(pattern).name.replace("*", "all"))
        self.identity = f"glob:{pattern}"

    def fingerprint_data(self) -> dict:
        # The matched set is part of the corpus: a new file matching the pattern changes it.
        return {**super().fingerprint_data(), "pattern": self.pattern}

    def empty_error(self) -> CorpusFormatError:
        return CorpusFormatError(
            f"the {len(self.files)} files matching {self.pattern!r} hold no text lines",
            hint="give UTF-8 text files with one sentence per line",
        )

    def describe(self, n_lines: int, limited: bool = False) -> str:
        n = len(self.files)
        return f"files matching {self.pattern} ({n} file{'s' * (n != 1)}, {'first ' * limited}{n_lines:,} lines)"


def _glob_source(spec: str, errors: str) -> TextGlobSource:
    pattern = str(Path(spec).expanduser().absolute())
    files = sorted({Path(p).resolve() for p in glob.glob(pattern, recursive=True) if Path(p).is_file()})
    if not files:
        raise CorpusNotFoundError(f"no files match the corpus pattern {spec!r} (looked for {pattern})", hint=SPEC_HINT)
    return TextGlobSource(pattern, files, errors)


def text_source(
    spec: str | os.PathLike[str], errors: str = "strict"
) -> TextFileSource | TextFolderSource | TextGlobSource:
    """The source for a local path or glob, or a `CorpusNotFoundError` saying what is wrong.

    ``errors`` is the policy for invalid UTF-8 (see `chargan.corpora.sources`).
    """
    given = Path(spec).expanduser()
    path = given.resolve()
    if not path.exists() and isinstance(spec, str) and _GLOB_CHARS & set(spec):
        return _glob_source(spec, errors)
    if not path.exists():
        raise CorpusNotFoundError(
            f"corpus {str(spec)!r} not found: no file or folder at {path}",
            hint=SPEC_HINT,
        )
    if path.is_file():
        return TextFileSource(path, errors)
    if not path.is_dir():
        raise CorpusFormatError(f"corpus path {path} is neither a regular file nor a folder", hint=SPEC_HINT)
    try:
        files = sorted((p for p in path.iterdir() if p.suffix in FOLDER_SUFFIXES and p.is_file()), key=lambda p: p.name)
    except OSError as exc:
        raise CorpusNotFoundError(f"cannot list corpus folder {path}: {exc.strerror or exc}") from None
    if not files:
        if looks_like_billion_word(path) or looks_like_billion_word(path / ROOT_DIRNAME):
            hint = (
                f"this looks like the One Billion Word benchmark: use the corpus 'billion_word' with --data-dir {path}"
            )
        else:
            hint = ("sub-folders are not searched; put the text in *.txt files there, pass a file's path directly, "
                    "or give a glob pattern such as 'FOLDER/**/*.txt'")
        raise CorpusNotFoundError(f"corpus folder {path} holds no *.txt or *.gz files", hint=hint)
    return TextFolderSource(path, files, errors)


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
