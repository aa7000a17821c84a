"""The genes family trained end to end: it learns on real genes, feedback pulls it where the scorer rewards,
a resumed feedback run continues exactly, and the CLI's train / sample / eval / --resume serve it unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from chargan.cli.main import cli
from click.testing import CliRunner

import chargan.genes as genes
from chargan.errors import UsageError
from chargan.families import load_run, sample

SHARED_GENES = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "genes" / "uniprot_genes_under_50aa.txt"
STOPS = {"TAA", "TAG", "TGA"}
CODONS = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS]
#: A genes-cpu-sized model, shrunk to train in seconds: genes of up to 51 bases (the shared file has 512 of them).
#: A constant rate and a fixed noise anneal: these runs resume with more iterations, and the preset's linear
#: decay and its anneal over the run both follow --iterations.
QUICK = dict(seq_len=51, long="skip", batch_size=32, critic_iters=3, lr=3e-3, lr_decay="none",
             noise_anneal_iterations=2400, n_blocks=2, dim=32, log_every=10, eval_samples=256,
             eval_novelty_train=300, device="cpu")


def _generated_genes(path: Path, n: int = 600) -> Path:
    """Genes in the shared file's form (ATG, codons, a stop), for machines without it."""
    rng = np.random.default_rng(0)
    lines = ["ATG" + "".join(rng.choice(CODONS, size=int(k))) + rng.choice(sorted(STOPS))
             for k in rng.integers(3, 16, n)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def gene_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    if SHARED_GENES.is_file():
        return str(SHARED_GENES)
    return str(_generated_genes(tmp_path_factory.mktemp("g") / "g.txt"))


def _config(corpus: str, **overrides: object) -> genes.Config:
    return genes.CONFIGS["genes-cpu"].with_overrides(corpus=corpus, **{**QUICK, **overrides})


def _gc(sequences: list[str]) -> float:
    return float(np.mean([(s.count("G") + s.count("C")) / max(len(s), 1) for s in sequences]))


def test_a_short_run_on_real_genes_learns_valid_genes_and_k_mers(gene_file: str, tmp_path: Path,
                                                                   one_thread: None) -> None:
    # genes-cpu's recipe: the rate decays to 0, and the real rows' noise falls to 0, over the whole run.
    config = _config(gene_file, iterations=160, eval_every=160, checkpoint_every=160, lr_decay="linear",
                     noise_anneal_iterations=genes.CONFIGS["genes-cpu"].train.noise_anneal_iterations)
    assert config.train.noise_anneal_horizon == 160  # the preset's anneal spans whatever --iterations says
    trained = genes.train(config, tmp_path / "run", progress=False, echo=lambda line: None)
    records = [r for r in trained.run.read_metrics() if "js6" in r]
    untrained, final = records[0], records[-1]
    assert (untrained["iteration"], final["iteration"]) == (0, 160)
    assert untrained["valid_gene"] == 0.0 and final["valid_gene"] >= 0.02, final
    # k-mers leave padding out: the untrained generator's bases are already near the genes' composition, so
    # the long k-mers (codon pairs) are what it learns first.
    assert final["js5"] < untrained["js5"] and final["js6"] < untrained["js6"] - 0.2, (untrained, final)
    assert final["length_js"] < untrained["length_js"] and trained.floor["valid_gene"] == 1.0
    assert final["novelty_copies"] <= 0.05  # it does not just copy the training genes


def test_feedback_moves_the_generated_distribution_toward_what_it_rewards(gene_file: str, tmp_path: Path,
                                                                         one_thread: None) -> None:
    def gc_content(sequences: list[str]) -> list[float]:
        return [_gc([s]) for s in sequences]

    config = _config(gene_file, iterations=60, eval_every=60, checkpoint_every=60, feedback_every=2,
                     feedback_samples=64, feedback_threshold=0.55)
    trained = genes.train(config, tmp_path / "run", progress=False, echo=lambda line: None, feedback=gc_content)
    final = trained.run.read_metrics()[-1]
    assert final["feedback_replaced"] > 0.2, final
    real = [s for s in Path(gene_file).read_text().split() if len(s) <= 51]
    generated = sample(trained.run.root, 512, seed=5, device="cpu")
    assert _gc(generated) > _gc(real) + 0.05, (_gc(generated), _gc(real))


def test_a_resumed_feedback_run_continues_the_same_feedback(gene_file: str, tmp_path: Path, one_thread: None) -> None:
    def scorer(sequences: list[str]) -> list[float]:
        return [float(i % 2) for i in range(len(sequences))]  # every other one passes

    config = _config(gene_file, iterations=12, eval_every=12, checkpoint_every=6, feedback_every=3,
                     feedback_samples=32, feedback_threshold=0.5, dim=8, n_blocks=1, eval_samples=64,
                     eval_novelty_train=50)
    straight = genes.train(config, tmp_path / "straight", progress=False, echo=lambda line: None, feedback=scorer)
    half = genes.train(config.with_overrides(iterations=6), tmp_path / "resumed", progress=False,
                       echo=lambda line: None, feedback=scorer)
    said: list[str] = []
    resumed = genes.train(config, half.run.root, resume=True, progress=False, echo=said.append, feedback=scorer)
    assert "resumed at iteration 6 of 12" in said
    assert resumed.result.metrics["feedback_replaced"] == straight.result.metrics["feedback_replaced"] > 0
    assert sample(resumed.run.root, 16, seed=3) == sample(straight.run.root, 16, seed=3)
    with pytest.raises(Exception, match="names no scorer"):
        genes.train(config.with_overrides(iterations=14), half.run.root, resume=True, progress=False,
                    echo=lambda line: None)


def test_a_resumed_gumbel_run_draws_the_same_noise(gene_file: str, tmp_path: Path, one_thread: None) -> None:
    """The Gumbel noise stream travels in the checkpoint: weights and metrics equal the uninterrupted run's."""
    config = _config(gene_file, iterations=6, eval_every=6, checkpoint_every=3, log_every=3, output="gumbel",
                     tau=0.5, dim=8, n_blocks=1, eval_samples=64, eval_novelty_train=50)
    straight = genes.train(config, tmp_path / "straight", progress=False, echo=lambda line: None)
    half = genes.train(config.with_overrides(iterations=3), tmp_path / "resumed", progress=False,
                       echo=lambda line: None)
    resumed = genes.train(config, half.run.root, resume=True, progress=False, echo=lambda line: None)
    want = load_run(straight.run.root).generator.state_dict()
    got = load_run(resumed.run.root).generator.state_dict()
    assert all(torch.equal(want[k], got[k]) for k in want)
    timing = ("seconds", "it_per_sec")
    strip = lambda records: [{k: v for k, v in r.items() if k not in timing} for r in records]  # noqa: E731
    # The half run's last record also holds its closing evaluation (at 3), which the straight run has not.
    assert strip(resumed.run.read_metrics())[-1] == strip(straight.run.read_metrics())[-1]


TINY = ["--seq-len", "51", "--long", "skip", "--dim", "8", "--n-blocks", "1", "--batch-size", "8",
        "--critic-iters", "1", "--eval-every", "2", "--checkpoint-every", "2", "--log-every", "1",
        "--eval-samples", "32", "--eval-novelty-train", "50", "--no-progress", "--device", "cpu"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_the_cli_trains_samples_evaluates_and_resumes_a_genes_run(gene_file: str, tmp_path: Path,
                                                                  one_thread: None) -> None:
    run = tmp_path / "run"
    code, out = invoke("train", "--config", "genes-cpu", "--corpus", gene_file, "--iterations", "3", "--run",
                       str(run), "--output", "gumbel", "--tau", "0.5", *TINY)
    assert code == 0, out
    assert "finished at iteration 3: " in out and "valid_gene=" in out
    saved = json.loads((run / "config.json").read_text())
    assert saved["family"] == "genes" and saved["model"]["output"] == "gumbel"
    records = Path(gene_file).read_text().split()
    too_long = sum(len(line) > 51 for line in records)  # --seq-len 51 --long skip
    assert saved["corpus"]["read"]["skipped_long"] == too_long
    assert saved["corpus"]["read"]["kept"] == saved["corpus"]["sequences"] == len(records) - too_long
    code, out = invoke("sample", "-n", "5", "--run", str(run), "--seed", "1")
    assert code == 0 and len(out.splitlines()) == 5
    assert all(set(line) <= set("ACGT-") and len(line) <= 51 for line in out.splitlines())
    code, out = invoke("sample", "-n", "3", "--run", str(run), "--seed", "1", "--decode", "sample")
    assert code == 0 and len(out.splitlines()) == 3
    code, out = invoke("eval", "--run", str(run), "-n", "32", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["iteration"] == 3 and {"js1", "js6", "valid_gene", "novelty_mean", "length_js"} <= set(result)
    assert result["floor_valid_gene"] == 1.0 and result["floor_samples"] == 32
    code, out = invoke("train", "--resume", "--run", str(run), "--iterations", "5", "--no-progress")
    assert code == 0, out
    assert "resumed at iteration 3 of 5" in out
    iterations = [json.loads(line)["iteration"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert iterations[-1] == 5 and iterations == sorted(iterations)
    assert load_run(run, "cpu").iteration == 5


def test_the_cli_refuses_what_does_not_apply_and_bad_input(gene_file: str, tmp_path: Path) -> None:
    code, out = invoke("train", "--config", "genes-cpu", "--units", "subword", "--run", str(tmp_path / "a"))
    assert code == 2 and "--units does not apply to genes config genes-cpu" in out
    code, out = invoke("train", "--config", "genes-cpu", "--tau", "0.3", "--run", str(tmp_path / "b"))
    assert code == 2 and "--tau does not apply to this run: it is for --output gumbel" in out
    code, out = invoke("train", "--config", "genes-cpu", "--errors", "replace", "--run", str(tmp_path / "c"))
    assert code == 2 and "errors must be one of strict, skip" in out
    bad = tmp_path / "bad.fa"
    bad.write_text(">one\nATGAAATAA\n>two\nATGXAATAA\n")
    code, out = invoke("train", "--config", "genes-cpu", "--corpus", str(bad), "--run", str(tmp_path / "d"), *TINY)
    assert code == 1 and "record 2 (two), position 4: 'X'" in out and "Traceback" not in out
    code, out = invoke("train", "--config", "protein", "--run", str(tmp_path / "e"), "--no-progress")
    assert code == 1 and "give one with --corpus" in out
    code, out = invoke("train", "--config", "genes-cpu", "--feedback", "my_scorers:gc", "--run", str(tmp_path / "f"))
    assert code == 2 and "--feedback does not apply to this run: it is for --feedback-every N" in out
    code, out = invoke("train", "--config", "genes-cpu", "--output", "gumbel", "--tau", "0.2", "--tau-decay", "0.01",
                       "--tau-min", "0.5", "--run", str(tmp_path / "g"))
    assert code == 2 and "tau-min (0.5) is above tau (0.2)" in out


def test_a_scorer_without_feedback_rounds_is_refused(gene_file: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="runs no feedback"):
        genes.train(_config(gene_file), tmp_path / "run", progress=False, feedback=lambda s: [1.0] * len(s))
    assert not (tmp_path / "run").exists()
    config = _config(gene_file, feedback_every=2)
    assert "feedback" not in config.inapplicable() and "feedback" in _config(gene_file).inapplicable()
    assert "feedback" not in config.guard()["data"]  # not model state: a resume may name another scorer


def test_the_cli_names_a_feedback_scorer_by_module(gene_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   one_thread: None) -> None:
    (tmp_path / "my_scorers.py").write_text("def everything(sequences):\n    return [1.0] * len(sequences)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run = tmp_path / "run"
    code, out = invoke("train", "--config", "genes-cpu", "--corpus", gene_file, "--iterations", "2", "--run", str(run),
                       "--feedback", "my_scorers:everything", "--feedback-every", "1", "--feedback-samples", "4",
                       *TINY)
    assert code == 0, out
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["feedback_accepted"] == 1.0 and records[-1]["feedback_replaced"] > 0
    code, out = invoke("train", "--config", "genes-cpu", "--corpus", gene_file, "--feedback-every", "1",
                       "--run", str(tmp_path / "none"), *TINY)
    assert code == 1 and "names no scorer" in out
    # A run trained from Python with a scorer function resumes from the command line with a named one.
    config = _config(gene_file, iterations=2, feedback_every=1, feedback_samples=4, dim=8, n_blocks=1,
                     batch_size=8, critic_iters=1, eval_every=2, checkpoint_every=2, eval_samples=32,
                     eval_novelty_train=50)
    genes.train(config, tmp_path / "python", progress=False, echo=lambda line: None,
                feedback=lambda sequences: [0.0] * len(sequences))
    code, out = invoke("train", "--resume", "--run", str(tmp_path / "python"), "--iterations", "4",
                       "--feedback", "my_scorers:everything", "--no-progress")
    assert code == 0, out
    assert "resumed at iteration 2 of 4" in out
    last = [json.loads(line) for line in (tmp_path / "python" / "metrics.jsonl").read_text().splitlines()][-1]
    assert last["iteration"] == 4 and last["feedback_accepted"] == 1.0  # the named scorer took over
    assert last["feedback_replaced"] > 0  # the Python scorer passed nothing


def test_an_evaluation_logs_the_feedback_round_of_its_own_iteration(gene_file: str, tmp_path: Path,
                                                                    one_thread: None) -> None:
    calls: list[int] = []

    def first_round_only(sequences: list[str]) -> list[float]:
        calls.append(len(sequences))
        return [1.0 if len(calls) == 1 else 0.0] * len(sequences)

    config = _config(gene_file, iterations=4, feedback_every=2, feedback_samples=4, dim=8, n_blocks=1, batch_size=8,
                     critic_iters=1, eval_every=2, checkpoint_every=4, eval_samples=32, eval_novelty_train=50)
    genes.train(config, tmp_path / "run", progress=False, echo=lambda line: None, feedback=first_round_only)
    records = {r["iteration"]: r for r in (json.loads(line) for line in
                                           (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())}
    assert calls == [4, 4]
    assert records[2]["feedback_accepted"] == 1.0 and records[4]["feedback_accepted"] == 0.0


def test_a_protein_run_scores_composition_and_no_valid_genes(tmp_path: Path, one_thread: None) -> None:
    rng = np.random.default_rng(1)
    peptides = tmp_path / "peptides.fasta"
    peptides.write_text("".join(f">p{i}\n{''.join(rng.choice(list('ACDEFGHIKLMNPQRSTVWY'), size=int(n))).lower()}\n"
                                for i, n in enumerate(rng.integers(8, 30, size=200))))
    run = tmp_path / "run"
    code, out = invoke("train", "--config", "protein", "--corpus", str(peptides), "--iterations", "2", "--run",
                       str(run), *TINY[2:])  # the protein config's seq_len (64)
    assert code == 0, out
    final = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert "composition_js" in final and "valid_gene" not in final and final["iteration"] == 2
    code, out = invoke("eval", "--run", str(run), "-n", "16", "--json", "--reference", str(peptides))
    assert code == 0, out
    assert json.loads(out)["reference"].startswith("fasta file") and "valid_gene" not in json.loads(out)
    bad = tmp_path / "bad.fasta"
    bad.write_text(">p1\nACDEFGHIK\n>p2\nACBDE\n")
    code, out = invoke("eval", "--run", str(run), "-n", "16", "--reference", str(bad))
    assert code == 1 and "record 2 (p2), position 3: 'B'" in out
    assert "run's own protein alphabet" in out and "--alphabet" not in out and "--errors" not in out


def test_config_names_are_unique_across_families() -> None:
    from chargan.families import CONFIGS, FAMILIES

    assert sum(len(family.CONFIGS) for family in FAMILIES.values()) == len(CONFIGS)
    assert {"genes", "genes-cpu", "protein"} <= {name for name, entry in CONFIGS.items() if entry.family == "genes"}
