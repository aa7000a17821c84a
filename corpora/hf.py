"""Hugging Face datasets as corpora: ``hf:<dataset>[:<config>][@<revision>]``.

Any dataset with a text column, read through the ``datasets`` library:

* a hub dataset (``hf:wikitext:wikitext-103-raw-v1``) is *streamed*
  (``load_dataset(..., streaming=True)``): nothing is downloaded up front and
  memory does not grow with the dataset;
* a local folder written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``
  (``hf:/data/my_set``) is opened with ``load_from_disk`` (memory-mapped Arrow);
* any other local folder (``hf:./parquet_dir``) goes to ``load_dataset`` as a
  folder of data files (parquet, csv, json, txt), also streamed.

``split`` and ``text_column`` pick the rows and the column. A cell may hold
several lines (a paragraph, a document): it is split on ``\\n`` and blank
lines are dropped, the same rule as text files.

The fingerprint of a hub dataset is its name, config, split, column and
revision: the hub is not asked whether the data changed (pin ``@<commit>``
to be exact); a local folder's fingerprint also has its files' sizes and
mtimes. A cached encoding therefore opens without network access.

`billion_word_hf` is the One Billion Word benchmark from the hub's parquet
export of ``billion-word-benchmark/lm1b`` (branch ``refs/convert/parquet``;
the script-based ``load_dataset('lm1b')`` no longer loads in current
``datasets``): the same sentences as the tarball's training shards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from chargan.corpora.errors import CorpusError, CorpusFormatError, CorpusNotFoundError
from chargan.corpora.sources import CorpusSource, file_entry, safe_slug

PREFIX = "hf:"
#: The hub's parquet export of the One Billion Word benchmark.
LM1B_DATASET = "billion-word-benchmark/lm1b"
LM1B_CONFIG = "plain_text"
LM1B_REVISION = "refs/convert/parquet"
#: Rows fetched per batch from a dataset.
ROWS_PER_BATCH = 4096

_OFFLINE_HINT = (
    "check the dataset name, config and split, and the network connection to huggingface.co "
    "(set HF_TOKEN for gated datasets); offline, save the dataset with `save_to_disk` on a machine "
    "with network and pass hf:<that folder>, or set HF_DATASETS_OFFLINE=1 to use the datasets cache"
)


@dataclass(frozen=True)
class HFSpec:
    """Where the rows come from: ``dataset`` is a hub name or a local folder."""

    dataset: str
    config: str | None = None
    revision: str | None = None
    split: str = "train"
    text_column: str = "text"

    @property
    def local(self) -> Path | None:
        """The local folder named by ``dataset``, if it is one."""
        path = Path(self.dataset).expanduser()
        return path.resolve() if path.is_dir() else None

    def label(self) -> str:
        name = self.dataset + (f":{self.config}" if self.config else "") + (f"@{self.revision}" if self.revision else "")
        return f"hf:{name} (split {self.split}, column {self.text_column})"


def is_hf_spec(spec: object) -> bool:
    return isinstance(spec, str) and spec.startswith(PREFIX)


def parse_hf_spec(spec: str, split: str = "train", text_column: str = "text") -> HFSpec:
    """``hf:<dataset>[:<config>][@<revision>]`` -> `HFSpec`."""
    body = spec[len(PREFIX):].strip()
    revision = None
    if "@" in body:
        body, revision = body.rsplit("@", 1)
        if not revision:
            raise CorpusError(f"corpus {spec!r} has an empty revision after '@'", hint="write hf:<dataset>@<revision>")
    dataset, _, config = body.partition(":") if not Path(body).expanduser().is_dir() else (body, "", "")
    if not dataset:
        raise CorpusError(f"corpus {spec!r} names no dataset",
                          hint="write hf:<dataset>[:<config>][@<revision>], e.g. hf:wikitext:wikitext-2-raw-v1")
    for name, value in (("split", split), ("text column", text_column)):
        if not isinstance(value, str) or not value.strip():
            raise CorpusError(f"the {name} of a Hugging Face corpus must be a non-empty name, got {value!r}")
    return HFSpec(dataset, config or None, revision, split, text_column)


def _is_saved_to_disk(folder: Path) -> bool:
    return (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()


class HFSource(CorpusSource):
    """The lines of one text column of a Hugging Face dataset split."""

    kind = "hf"

    def __init__(self, spec: HFSpec, *, name: str | None = None, slug: str | None = None) -> None:
        self.spec = spec
        self.local = spec.local
        self.root = self.local
        self.name = name or spec.label()
        self.slug = slug or safe_slug(f"hf-{Path(spec.dataset).name}-{spec.config or ''}-{spec.split}")
        self.identity = f"hf:{self.local or spec.dataset}:{spec.config}:{spec.revision}:{spec.split}:{spec.text_column}"

    def fingerprint_data(self) -> dict:
        data = {"kind": self.kind, "dataset": str(self.local or self.spec.dataset), "config": self.spec.config,
                "revision": self.spec.revision, "split": self.spec.split, "text_column": self.spec.text_column}
        if self.local is not None:
            try:
                files = sorted(p for p in self.local.rglob("*") if p.is_file() and not p.name.startswith("."))
                data["files"] = [file_entry(p) for p in files]
            except OSError as exc:
                raise CorpusError(f"cannot read {exc.filename}: {exc.strerror or exc}") from None
        return data

    def describe(self, n_lines: int, limited: bool = False) -> str:
        return f"{self.name}, {'first ' * limited}{n_lines:,} lines"

    def empty_error(self) -> CorpusError:
        return CorpusFormatError(f"{self.name} holds no text lines", hint="check --split and --text-column")

    # ------------------------------------------------------------------ reading
    def _open(self):
        """The split as a `datasets` Dataset or IterableDataset, or a `CorpusError`."""
        try:
            import datasets  # heavy (pyarrow, pandas): imported only to read an hf: corpus
        except ImportError:  # pragma: no cover - a declared dependency
            raise CorpusError("reading a Hugging Face dataset needs the `datasets` package",
                              hint="pip install datasets") from None
        spec = self.spec
        try:
            if self.local is not None and _is_saved_to_disk(self.local):
                loaded = datasets.load_from_disk(str(self.local))
                if isinstance(loaded, datasets.DatasetDict):
                    if spec.split not in loaded:
                        raise CorpusNotFoundError(
                            f"{self.name}: no split {spec.split!r}; the saved dataset has {', '.join(loaded)}",
                            hint="choose one with --split")
                    return loaded[spec.split]
                return loaded
            return datasets.load_dataset(str(self.local or spec.dataset), spec.config, split=spec.split,
                                         revision=spec.revision, streaming=True)
        except CorpusError:
            raise
        except Exception as exc:  # noqa: BLE001 - datasets raises many types; each becomes one clear error
            raise CorpusError(f"cannot load {self.name}: {_first_line(exc)}", hint=_OFFLINE_HINT) from None

    def batches(self) -> Iterator[tuple[str, list[str]]]:
        ds = self._open()
        column = self.spec.text_column
        names = getattr(ds, "column_names", None)
        if names is not None and column not in names:
            raise CorpusFormatError(f"{self.name}: no column {column!r}; the dataset has {', '.join(names)}",
                                    hint="choose the text column with --text-column")
        origin = f"{Path(self.spec.dataset).name}/{self.spec.split}"
        rows = ds.select_columns([column]) if names is not None else ds
        iterator = rows.iter(batch_size=ROWS_PER_BATCH)
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except Exception as exc:  # noqa: BLE001 - streaming errors surface here (network, parquet)
                raise CorpusError(f"cannot read {self.name}: {_first_line(exc)}", hint=_OFFLINE_HINT) from None
            if column not in batch:
                raise CorpusFormatError(f"{self.name}: no column {column!r}; the rows have {', '.join(batch)}",
                                        hint="choose the text column with --text-column")
            lines = _cells_to_lines(batch[column], self.name, column)
            if lines:
                yield origin, lines


def _cells_to_lines(cells: list, name: str, column: str) -> list[str]:
    out: list[str] = []
    for cell in cells:
        if cell is None:
            continue
        if not isinstance(cell, str):
            raise CorpusFormatError(f"{name}: column {column!r} holds {type(cell).__name__} values, not text",
                                    hint="choose a string column with --text-column")
        if "\0" in cell:
            raise CorpusFormatError(f"{name}: column {column!r} holds a NUL character: binary data, not text")
        for line in cell.split("\n") if "\n" in cell else (cell,):
            line = line.removesuffix("\r")
            if line and not line.isspace():
                out.append(line)
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def billion_word_hf(dataset: str = LM1B_DATASET, revision: str | None = LM1B_REVISION) -> HFSource:
    """The One Billion Word training sentences from the hub's parquet export."""
    spec = HFSpec(dataset, LM1B_CONFIG if dataset == LM1B_DATASET else None, revision, "train", "text")
    return HFSource(spec, name="billion_word (Hugging Face lm1b parquet export)", slug="billion_word-hf")
