"""The character language model learns on the Billion Word sample (or its stand-in)."""

from __future__ import annotations

from pathlib import Path

from chargan import get_preset, train


def test_short_training_lowers_js1_well_below_the_untrained_generator(billion_word_root: Path, tmp_path: Path) -> None:
    config = get_preset("cpu").with_overrides(
        corpus="billion_word", data_dir=str(billion_word_root), dim=32, n_blocks=1,
        seq_len=16, iterations=200, critic_iters=5, batch_size=64, lr=2e-3, eval_every=100, log_every=20,
    )
    outcome = train(config, tmp_path / "run", progress=False, echo=lambda _: None)
    records = outcome.run.read_metrics()
    untrained = next(r for r in records if r["iteration"] == 0 and "js1" in r)
    final = records[-1]
    assert final["iteration"] == 200
    assert final["js1"] < 0.5 * untrained["js1"], (untrained["js1"], final["js1"])
    assert final["js1"] > outcome.floor["js1"]  # the floor is a lower bound in practice
    assert outcome.run.config_path.is_file()


def test_reference_statistics_are_cached_beside_the_corpus(tmp_path: Path, monkeypatch) -> None:
    import numpy as np

    import chargan.sequence.reference as shared
    import chargan.text.evaluation as evaluation
    from chargan import EvalConfig

    ids = np.random.default_rng(0).integers(0, 9, size=(300, 12)).astype(np.uint8)
    config = EvalConfig(samples=50)
    first = evaluation.reference_stats(ids, 9, config, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("ngrams-*/order*.npz"))) == 4

    def no_counting(*args, **kwargs):
        raise AssertionError("statistics were recomputed instead of loaded")

    counting = shared.ngram_stats
    monkeypatch.setattr(shared, "ngram_stats", no_counting)
    second = evaluation.reference_stats(ids, 9, config, cache_dir=tmp_path)
    assert second.floor == first.floor
    assert all(a == b for a, b in zip(first.stats, second.stats))
    monkeypatch.setattr(shared, "ngram_stats", counting)  # not undo(): that would also unset the cache env
    other = evaluation.reference_stats(ids, 9, EvalConfig(samples=60), cache_dir=tmp_path)  # other settings: own entry
    assert other.floor != first.floor and len(list(tmp_path.glob("ngrams-*"))) == 2
