"""A trained language-model run as a folder to share: Hugging Face's `PyTorchModelHubMixin` layout.

```
DIR/
  model.safetensors   the generator's weights        } what ConvGenerator.save_pretrained writes,
  config.json         its constructor arguments      } byte for byte
  vocab.json          the run's vocabulary (ids -> symbols), copied
  README.md           the model card: data, training config, iterations, last evaluation, samples
```

``ConvGenerator.from_pretrained(DIR)`` rebuilds the generator alone (and
``push_to_hub`` publishes weights, config and the mixin's own card);
`load_exported` gives the generator with its vocabulary, which is what
decoding needs. The whole folder is uploaded as it is with
``huggingface_hub.upload_folder(repo_id=..., folder_path=DIR)``.

Only language (text) runs export: their generator is a `ConvGenerator`
and their samples are lines of text. A folder is written beside ``DIR``
under a hidden name and renamed into place when complete, so ``DIR`` is
either absent, or the whole export.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import ModelCardData
from huggingface_hub.constants import CONFIG_NAME, SAFETENSORS_SINGLE_FILE
from safetensors import SafetensorError

from chargan import text
from chargan.core.atomic import current_umask
from chargan.core.device import resolve_device
from chargan.core.ema import AVERAGE
from chargan.core.family import LoadedRun, deliver
from chargan.corpora.units import AnyVocabulary, VocabularyError, load_vocabulary
from chargan.errors import UserError
from chargan.families import load_run, run_family
from chargan.text.decoding import sample_ids
from chargan.text.family import VOCAB_FILE
from chargan.text.models import ConvGenerator

#: The mixin's file names (huggingface_hub's constants), and the model card's.
WEIGHTS_FILE = SAFETENSORS_SINGLE_FILE
CONFIG_FILE = CONFIG_NAME
CARD_FILE = "README.md"
#: Every file an export holds.
EXPORT_FILES = (WEIGHTS_FILE, CONFIG_FILE, VOCAB_FILE, CARD_FILE)


def load_exported(directory: str | Path, device: str = "auto") -> tuple[ConvGenerator, AnyVocabulary]:
    """The generator (in eval mode, on ``device``) and vocabulary of a folder `export_run` wrote.

    ``device``: ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:N``.
    A missing, partial or mismatched folder is a `UserError`.
    """
    root = Path(directory)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder", hint="pass the folder `chargan export` wrote")
    missing = [name for name in (WEIGHTS_FILE, CONFIG_FILE, VOCAB_FILE) if not (root / name).is_file()]
    if missing:
        raise UserError(f"{root} is not an exported chargan model: no {', '.join(missing)}",
                        hint="pass the folder `chargan export` wrote")
    try:
        vocab = load_vocabulary(root / VOCAB_FILE)
    except VocabularyError as exc:
        raise UserError(f"{root} has no usable vocabulary: {exc.message}") from None
    target = resolve_device(device)
    try:
        # from_pretrained prints "Loading weights from local directory" to stdout, which would land among
        # the lines `chargan sample` prints. strict: the mixin's default (False) would leave weights missing
        # from the file at their random initial values without a word.
        with contextlib.redirect_stdout(io.StringIO()):
            generator = ConvGenerator.from_pretrained(root, strict=True)
    except (OSError, ValueError, TypeError, RuntimeError, AttributeError, SafetensorError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{root} does not hold a loadable generator: {first}",
                        hint="export the run again with `chargan export`") from None
    if generator.vocab_size != len(vocab):
        raise UserError(f"{root}: the generator has {generator.vocab_size} symbols, its vocab.json {len(vocab)}",
                        hint="the files come from different exports; export the run again")
    # map_location would only place the loaded tensors: they are copied into the CPU-built model, so move it.
    return generator.to(target).eval(), vocab


def sample_exported(directory: str | Path, n: int = 20, seed: int | None = None, decode: str = "argmax",
                    temperature: float = 1.0, output: str | Path | None = None, device: str = "auto") -> list[str]:
    """``n`` samples of an exported generator, as `chargan.families.sample` gives a run's (``chargan sample --model``)."""
    if n < 1:
        raise UserError(f"the number of samples must be positive, got {n}")
    generator, vocab = load_exported(directory, device)
    ids = sample_ids(generator, n, seed=seed, decode=decode, temperature=temperature)
    return deliver(vocab.decode_batch(ids), None if output is None else Path(output))


def export_run(run_dir: str | Path, out_dir: str | Path, samples: int = 5, seed: int = 0, raw: bool = False) -> Path:
    """Write the newest generator of the language-model run ``run_dir`` into the new folder ``out_dir``.

    A run with a weight average exports the average, unless ``raw``. ``samples`` lines (noise seed ``seed``, drawn on the CPU) go into the
    model card. Returns ``out_dir``. Another family's run, or an existing
    non-empty ``out_dir``, is a `UserError`; nothing is then written.
    """
    run_dir, out = Path(run_dir), Path(out_dir)
    if samples < 0:
        raise UserError(f"the number of samples must be zero or more, got {samples}")
    family = run_family(run_dir)
    if family.NAME != text.NAME:
        raise UserError(f"export supports language-model runs; run {run_dir} is of family {family.NAME!r}",
                        hint="export a run trained with a language config (`chargan configs` lists them)")
    _check_free(out)
    # On the CPU: the card's samples then match `chargan sample --seed S --device cpu` on any machine.
    loaded = load_run(run_dir, device="cpu", raw=raw)
    generator = loaded.generator
    assert isinstance(generator, ConvGenerator), type(generator)
    lines = loaded.family.sample(loaded, samples, seed) if samples else []
    card = model_card(loaded, generator, lines, seed)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".export", dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private; the export is meant to be shared
        # The card first: save_pretrained keeps an existing README.md rather than writing its generic one.
        (tmp / CARD_FILE).write_text(card, encoding="utf-8")
        shutil.copyfile(loaded.root / VOCAB_FILE, tmp / VOCAB_FILE)
        generator.save_pretrained(tmp)
        _check_loads_back(tmp, generator)
        _move_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _check_free(out: Path) -> None:
    """`UserError` unless ``out`` is absent or an empty folder: an export never overwrites."""
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise UserError(f"{out} exists and is not a folder", hint="export into a new folder")
    if any(out.iterdir()):
        raise UserError(f"{out} exists and is not empty; export does not overwrite",
                        hint="export into a new folder, or remove this one first")


def _check_loads_back(folder: Path, generator: ConvGenerator) -> None:
    """Raise unless ``folder`` loads back to ``generator``'s exact weights.

    Guards against a huggingface_hub whose mixin does not record the
    constructor's arguments (releases before 0.22) or writes other files:
    a folder that would not load is never put in place.
    """
    reloaded, _ = load_exported(folder, device="cpu")
    expected, got = generator.state_dict(), reloaded.state_dict()
    if expected.keys() != got.keys() or not all(torch.equal(expected[k].cpu(), got[k]) for k in expected):
        raise RuntimeError(f"the export in {folder} does not load back to the run's generator")


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` to ``out`` (absent, or an empty folder removed first)."""
    try:
        if out.is_dir():
            out.rmdir()  # fails if something was written into it since the check: nothing is overwritten
        os.rename(tmp, out)
    except OSError as exc:
        raise UserError(f"could not move the export into {out}: {exc.strerror or exc}",
                        hint="export into a new folder") from None


# ------------------------------------------------------------------------------------------ the model card
def model_card(loaded: LoadedRun, generator: ConvGenerator, lines: Sequence[str], seed: int) -> str:
    """The README.md of an export: the mixin's metadata header, then the run's data, training and figures."""
    record: dict[str, Any] = loaded.run.read_config()
    config = loaded.config
    metrics = loaded.run.read_metrics()
    evaluation = last_evaluation(metrics, [f"js{n}" for n in config.eval.orders], loaded.iteration)
    floor = floors(metrics)
    # The mixin's card data (library_name, its tags): the Hub files the model under them.
    data: ModelCardData = generator.generate_model_card().data
    units = "SentencePiece pieces" if config.data.units == "subword" else "characters"
    parts = [
        f"---\n{data.to_yaml()}\n---",
        f"# {loaded.root.name}: a chargan {config.data.units}-level GAN generator",
        f"A WGAN-GP generator (Gulrajani et al., 2017, section 5.5) trained with chargan: it maps "
        f"{generator.latent_dim}-dim Gaussian noise to a softmax over {generator.vocab_size} {units} at each "
        f"of {generator.seq_len} positions; the argmax at each position, decoded with `vocab.json`, is a line.",
        "## Files\n\n"
        f"- `{WEIGHTS_FILE}`, `{CONFIG_FILE}`: the generator's weights and constructor arguments "
        "(`PyTorchModelHubMixin` layout)\n"
        f"- `{VOCAB_FILE}`: the vocabulary the run was trained with\n"
        f"- `{CARD_FILE}`: this card",
        "## Use\n\n```python\nfrom chargan.export import load_exported\n"
        "from chargan.text.evaluation import generate_ids\n\n"
        'generator, vocab = load_exported("path/to/this/folder")\n'
        'print("\\n".join(vocab.decode_batch(generate_ids(generator, 5, seed=0))))\n```\n\n'
        '`ConvGenerator.from_pretrained("path/to/this/folder")` (`chargan.text.models`) loads the generator alone.',
        "## Data\n\n" + _data_section(record.get("corpus")),
        "## Training\n\n" + _training_section(record, config, loaded.iteration, loaded.weights),
        "## Evaluation\n\n" + _evaluation_section(evaluation, floor, config.eval.samples, config.eval.seed),
    ]
    if lines:
        parts.append(f"## Samples\n\n{len(lines)} lines, argmax-decoded from noise seed {seed} drawn on the CPU "
                     f"(`chargan sample -n {len(lines)} --seed {seed} --device cpu` on the run prints the same):\n\n"
                     + _fenced("text", lines))
    return "\n\n".join(parts) + "\n"


def last_evaluation(records: Iterable[dict[str, Any]], keys: Sequence[str],
                    up_to: int) -> tuple[int, dict[str, Any]] | None:
    """``(iteration, {key: value})`` of the last record holding every key, at or before iteration ``up_to``.

    ``up_to`` is the checkpoint's iteration: records logged past it (by a
    run stopped between checkpoints) describe weights the export lacks.
    """
    found = None
    for record in records:
        if record.get("iteration", 0) <= up_to and all(k in record for k in keys):
            found = (int(record.get("iteration", 0)), {k: record[k] for k in keys})
    return found


def floors(records: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The reference record's ``floor_<metric>`` figures by metric (empty when the run logged none)."""
    for record in records:
        found = {k.removeprefix("floor_"): v for k, v in record.items() if k.startswith("floor_")}
        if found:
            return found
    return {}


def _data_section(corpus: Any) -> str:
    if not isinstance(corpus, dict):
        return "Not recorded in the run's config.json."
    source = corpus.get("source") if isinstance(corpus.get("source"), dict) else {}
    items = [("corpus", corpus.get("description")), ("source", source.get("kind")),
             ("identity", source.get("identity")), ("fingerprint", source.get("fingerprint")),
             ("lines", corpus.get("lines"))]
    return "\n".join(f"- {name}: {value}" for name, value in items if value is not None) + "\n\n" + \
        _fenced("json", json.dumps(_public(corpus), indent=2, ensure_ascii=False).splitlines())


def _training_section(record: dict[str, Any], config: Any, iteration: int, weights: str) -> str:
    t = config.train
    settings = {k: v for k, v in record.items() if k not in ("corpus", "family")}  # the data record has its section
    averaged = f"- weights: the moving average of the generator's (decay {t.ema_decay})\n" if weights == AVERAGE else ""
    return (f"- iterations: {iteration} (newest checkpoint; {t.iterations} configured)\n{averaged}"
            f"- config: {config.name}; objective {t.objective}, batch {t.batch_size}, critic iterations "
            f"{t.critic_iters}, lr {t.lr}\n\nThe run's configuration:\n\n"
            + _fenced("json", json.dumps(_public(settings), indent=2, ensure_ascii=False).splitlines()))


def _public(value: Any) -> Any:
    """``value`` with every absolute local path cut to its last part: a card is for sharing, a home folder is not."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return f"<local>/{Path(value).name}"
    return value


def _evaluation_section(evaluation: tuple[int, dict[str, Any]] | None, floor: dict[str, Any], samples: int,
                        seed: int) -> str:
    if evaluation is None:
        return "The run logged no evaluation up to its checkpoint."
    iteration, metrics = evaluation
    rows = [f"| {k} | {_number(v)} | {_number(floor.get(k))} |" for k, v in metrics.items()]
    return (f"At iteration {iteration}, {samples} samples (noise seed {seed}): Jensen-Shannon divergence of the "
            "n-gram distributions of generated and real lines (0 = identical, 1 = disjoint). The floor is what "
            "held-out real lines score against the rest of the corpus.\n\n"
            "| metric | generator | floor |\n| --- | --- | --- |\n" + "\n".join(rows))


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"  # None: NaN was logged as null


def _fenced(language: str, lines: Sequence[str]) -> str:
    """``lines`` in a code fence longer than any run of backticks in them (generated text may hold some)."""
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n" + "".join(line + "\n" for line in lines) + fence
