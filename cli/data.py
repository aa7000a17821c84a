"""``chargan data``: download, prepare and list corpora.

    chargan data download billion_word|mnist|cifar10 [--data-dir DIR] [--url URL]
                                       [--checksum sha256:<hex>] [--no-progress]
    chargan data prepare CORPUS [--data-dir DIR] [--source tarball|hf] [--split S] [--text-column C]
                                [--seq-len N] [--max-lines N] [--units char|subword]
                                [--max-vocab N] [--vocab-size N] [--errors strict|replace]
    chargan data info [--data-dir DIR]

A library `UserError` becomes a one-line ``Error:`` (exit code 1); a malformed
flag is a usage error (exit code 2).
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from chargan.corpora import CorpusError, cache_root, images, list_caches, load_corpus, locate_billion_word, training_shards
from chargan.corpora.download import DEFAULT_SHA256, DEFAULT_URL, fetch_billion_word
from chargan.corpora.hf import billion_word_hf
from chargan.corpora.units import UNITS
from chargan.cli.group import CleanErrorGroup

_CHECKSUM = re.compile(r"sha256:([0-9a-fA-F]{64})")


def _parse_checksum(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """``sha256:<64 hex digits>`` -> the lowercase hex digest (None stays None: the default checksum)."""
    if value is None:
        return None
    m = _CHECKSUM.fullmatch(value.strip())
    if not m:
        raise click.BadParameter(f"expected sha256:<64 hexadecimal digits>, got {value!r}")
    return m.group(1).lower()


@click.group(cls=CleanErrorGroup, context_settings={"help_option_names": ["-h", "--help"]})
def data() -> None:
    """Download, prepare and list corpora."""


@data.command()
@click.argument("corpus", type=click.Choice(["billion_word", "mnist", "cifar10"]))
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to download and unpack into (default $CHARGAN_DATA_DIR, then <cache root>/data).")
@click.option("--url", default=None,
              help=f"Where to get it (e.g. a mirror); default for billion_word: {DEFAULT_URL}. "
                   "For mnist: the folder URL holding the four .gz files.")
@click.option("--checksum", default=None, callback=_parse_checksum,
              help="Expected checksum of the archive, as sha256:<hex> (billion_word, cifar10; default: the official one).")
@click.option("--keep-archive", is_flag=True, help="Keep the downloaded tarball after unpacking it.")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def download(corpus: str, data_dir: Path | None, url: str | None, checksum: str | None, keep_archive: bool,
             no_progress: bool) -> None:
    """Download, verify and unpack CORPUS: billion_word (the One Billion Word
    benchmark, 1.8 GB), mnist (4 idx files, 11 MB) or cifar10 (the python
    batches, 163 MB). An interrupted download resumes."""
    if corpus == "billion_word":
        root = fetch_billion_word(data_dir, url=url or DEFAULT_URL, sha256=checksum or DEFAULT_SHA256,
                                  progress=not no_progress, echo=click.echo, keep_archive=keep_archive)
        click.echo(f"use it with: --corpus billion_word --data-dir {root}")
        return
    if corpus == "mnist":
        if checksum is not None:
            raise click.UsageError("--checksum names one archive; mnist is four files checked against their official SHA-256s")
        folder = images.fetch_mnist(data_dir, split=None, base_url=url or images.MNIST_URL,
                                    progress=not no_progress, echo=click.echo)
    else:
        folder = images.fetch_cifar10(data_dir, url=url or images.CIFAR10_URL, sha256=checksum or images.CIFAR10_SHA256,
                                      progress=not no_progress, echo=click.echo, keep_archive=keep_archive)
    where = f" --data-dir {data_dir}" if data_dir is not None else ""
    click.echo(f"{corpus} is in {folder}; train with: chargan train --config {corpus}{where}")


@data.command()
@click.argument("corpus")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where Billion Word is unpacked (or its parent). Also $CHARGAN_DATA_DIR.")
@click.option("--source", type=click.Choice(["tarball", "hf"]), default="tarball", show_default=True,
              help="billion_word from the official tarball or the Hugging Face parquet export.")
@click.option("--split", default="train", show_default=True, help="hf: corpora: the split to read.")
@click.option("--text-column", default="text", show_default=True, help="hf: corpora: the text column.")
@click.option("--seq-len", type=click.IntRange(min=1), default=32, show_default=True, help="Symbols per row.")
@click.option("--max-lines", type=click.IntRange(min=1), default=None, show_default="all lines",
              help="Use at most this many lines (give the training config's: cpu reads 1,000,000, paper 10,000,000).")
@click.option("--units", type=click.Choice(list(UNITS)), default="char", show_default=True,
              help="Characters or SentencePiece pieces.")
@click.option("--max-vocab", type=click.IntRange(min=3), default=2048, show_default=True,
              help="--units char: most frequent characters kept (padding and unknown included).")
@click.option("--vocab-size", type=click.IntRange(3, 65536), default=8000, show_default=True,
              help="--units subword: SentencePiece vocabulary size (padding and unknown included).")
@click.option("--errors", type=click.Choice(["strict", "replace"]), default="strict", show_default=True,
              help="Invalid UTF-8: an error naming the place, or read as U+FFFD.")
def prepare(corpus: str, data_dir: str | None, source: str, split: str, text_column: str, seq_len: int,
            max_lines: int | None, units: str, max_vocab: int, vocab_size: int, errors: str) -> None:
    """Encode CORPUS (demo, billion_word, hf:<dataset>, or a path / glob) into the memory-mapped cache.

    Use the same corpus settings as the training run (the `cpu` preset reads
    at most 1,000,000 lines, `paper` 10,000,000), so that training finds the
    cache ready.
    """
    encoded = load_corpus(corpus, data_dir=data_dir, seq_len=seq_len, max_lines=max_lines, max_vocab=max_vocab,
                          units=units, vocab_size=vocab_size, errors=errors, source=source, split=split,
                          text_column=text_column)
    click.echo(f"{encoded.description}: {encoded.n_lines:,} lines x {encoded.seq_len} {units}s, "
               f"{len(encoded.vocab)} symbols, cached in {encoded.cache_path}")


@data.command()
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Where to look for Billion Word (default $CHARGAN_DATA_DIR, then <cache root>/data).")
def info(data_dir: str | None) -> None:
    """List the corpora known (where each is) and the encoded corpora in the cache
    (size, lines, vocabulary, settings, source)."""
    click.echo("corpora:")
    click.echo("  demo: built in (English sentences from Python's help text), offline")
    try:
        root = locate_billion_word(data_dir)
        shards = len(training_shards(root))
        click.echo(f"  billion_word: {root} ({shards} training shard{'s' * (shards != 1)})")
    except CorpusError as exc:
        click.echo(f"  billion_word: not here ({exc.message.split(':')[0]}); "
                   "`chargan data download billion_word` fetches it")
    click.echo(f"  billion_word --source hf: {billion_word_hf().spec.label()}, streamed from the hub")
    click.echo("  hf:<dataset>[:<config>]: any Hugging Face dataset with a text column; or a text file, folder or glob")
    caches = list_caches()
    if not caches:
        click.echo(f"no encoded corpora under {cache_root()} yet; `chargan data prepare demo` makes one")
        return
    click.echo(f"encoded corpora under {cache_root()}:")
    for m in caches:
        megabytes = (m.get("ids_bytes", 0) + m.get("lines_bytes", 0)) / 1e6
        settings = m.get("settings", {})
        units = settings.get("units", "char")
        click.echo(f"  {m.get('name')}: {m.get('n_lines', 0):,} lines x {m.get('seq_len')} {units}s, "
                   f"{m.get('vocab_size')} symbols, max_lines {settings.get('max_lines')}, "
                   f"{megabytes:.1f} MB, created {m.get('created')}")
        click.echo(f"    {m.get('description')}")
        if m.get("replaced_utf8"):
            r = m["replaced_utf8"]
            click.echo(f"    {r['replaced']:,} invalid UTF-8 sequences read as U+FFFD (first: {r['first']})")
        click.echo(f"    {m['path']}")
