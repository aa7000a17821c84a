"""The character language model learns on the Billion Word sample (or its stand-in)."""

from __future__ import annotations

from pathlib import Path

from chargan import get_preset, train_language_model
from chargan.text.config import with_overrides


def test_short_training_lowers_js1_well_below_the_untrained_generator(billion_word_root: Path, tmp_path: Path) -> None:
    config = with_overrides(
        get_preset("cpu"), corpus="billion_word", data_dir=str(billion_word_root), dim=32, n_blocks=1,
        seq_len=16, iterations=200, critic_iters=5, batch_size=64, lr=2e-3, eval_every=100, log_every=20,
    )
    outcome = train_language_model(config, tmp_path / "run", progress=False, echo=lambda _: None)
    records = outcome.run.read_metrics()
    untrained = next(r for r in records if r["iteration"] == 0 and "js1" in r)
    final = records[-1]
    assert final["iteration"] == 200
    assert final["js1"] < 0.5 * untrained["js1"], (untrained["js1"], final["js1"])
    assert final["js1"] > outcome.floor["js1"]  # the floor is a lower bound in practice
    assert outcome.run.config_path.is_file()
