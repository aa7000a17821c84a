"""``chargan data``: download, prepare and list corpora.

    chargan data download billion_word [--data-dir DIR] [--url URL]
                                       [--checksum sha256:<hex>] [--no-progress]
    chargan data prepare CORPUS [--data-dir DIR] [--seq-len N] [--max-lines N] [--max-vocab N]
    chargan data info

A library `UserError` becomes a one-line ``Error:`` (exit code 1); a malformed
flag is a usage error (exit code 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from chargan.corpora.download import DEFAULT_SHA256, DEFAULT_URL, fetch_billion_word
from chargan.cli.group import CleanErrorGroup

_CHECKSUM = re.compile(r"sha256:([0-9a-fA-F]{64})")


def _parse_checksum(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``sha256:<64 hex digits>`` -> the lowercase hex digest."""
    m = _CHECKSUM.fullmatch(value.strip())
    if not m:
        raise click.BadParameter(f"expected sha256:<64 hexadecimal digits>, got {value!r}")
    return m.group(1).lower()


@click.group(cls=CleanErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Download, prepare and list corpora."""


@data.command()
@click.argument("corpus", type=click.Choice(["billion_word"]))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to download and unpack into (default $CHARGAN_DATA_DIR, then <cache root>/data).")
@click.option("--url", default=DEFAULT_URL, show_default=True, help="Where to get the tarball (e.g. a mirror).")
@click.option("--checksum", default=f"sha256:{DEFAULT_SHA256}", show_default=True, callback=_parse_checksum,
              help="Expected checksum of the tarball, as sha256:<hex>.")
@click.option("--keep-archive", is_flag=True, help="Keep the 1.8 GB tarball after unpacking it.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def download(corpus: str, data_dir: Path | None, url: str, checksum: str, keep_archive: bool,
             no_progress: bool) -> None:
    """Download, verify and unpack CORPUS (billion_word: the One Billion Word
    benchmark, 1.8 GB; an interrupted download resumes)."""
    root = fetch_billion_word(data_dir, url=url, sha256=checksum, progress=not no_progress,
                              echo=click.echo, keep_archive=keep_archive)
    click.echo(f"use it with: --corpus billion_word --data-dir {root}")


@data.command()
@click.argument("corpus")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where Billion Word is unpacked (or its parent). Also $CHARGAN_DATA_DIR.")
@click.option("--seq-len", type=click.IntRange(min=1), default=32, show_default=True, help="Characters per row.")
@click.option("--max-lines", type=click.IntRange(min=1), default=None, help="Use at most this many lines.")
@click.option("--max-vocab", type=click.IntRange(min=3), default=2048, show_default=True,
              help="Most frequent characters kept (padding and unknown included).")
def prepare(corpus: str, data_dir: str | None, seq_len: int, max_lines: int | None, max_vocab: int) -> None:
    """Encode CORPUS (demo, billion_word, or a path) into the memory-mapped cache ahead of training.

    Use the same --seq-len, --max-lines and --max-vocab as the training run
    (the `cpu` preset reads at most 1,000,000 lines, `paper` 10,000,000).
    """
    from chargan.corpora import load_corpus

    encoded = load_corpus(corpus, data_dir=data_dir, seq_len=seq_len, max_lines=max_lines, max_vocab=max_vocab)
    click.echo(f"{encoded.description}: {encoded.n_lines:,} lines x {encoded.seq_len}, "
               f"{len(encoded.vocab)} symbols, cached in {encoded.cache_path}")


@data.command()
def info() -> None:
    """List the encoded corpora in the cache: size, lines, vocabulary, settings, source."""
    from chargan.corpora import cache_root, list_caches

    caches = list_caches()
    if not caches:
        click.echo(f"no encoded corpora under {cache_root()} yet; `chargan data prepare demo` makes one")
        return
    for m in caches:
        megabytes = (m.get("ids_bytes", 0) + m.get("lines_bytes", 0)) / 1e6
        settings = m.get("settings", {})
        click.echo(f"{m.get('name')}: {m.get('n_lines', 0):,} lines, seq_len {m.get('seq_len')}, "
                   f"{m.get('vocab_size')} symbols, max_lines {settings.get('max_lines')}, "
                   f"{megabytes:.1f} MB, created {m.get('created')}")
        click.echo(f"  {m.get('description')}")
        click.echo(f"  {m['path']}")
