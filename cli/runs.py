"""``chargan runs``: the runs under a runs folder, newest first, as a table or JSON."""

from __future__ import annotations

import json

import click

from chargan.runs import EMPTY, RunSummary, list_runs

#: The table's columns: header and how a summary fills it.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("NAME", "name"), ("FAMILY/CONFIG", "family"), ("CHECKPOINT", "checkpoint"), ("LOGGED", "logged"),
    ("HEADLINE", "headline"), ("FLOOR", "floor"), ("LAST CHANGE", "last_change"), ("STATE", "state"),
)
DASH = "-"


@click.command()
@click.option("--runs-root", default="runs", show_default=True, type=click.Path(file_okay=False),
              help="The folder whose runs are listed.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (one object per run) instead of a table.")
def runs(runs_root: str, as_json: bool) -> None:
    """List the runs under --runs-root, newest change first: family/config, newest checkpoint of the target
    iteration, last logged iteration, the family's headline metric and its floor, last change and state
    (training, finished, stopped, diverged; empty or broken for a folder without a usable config.json).

    "training" is a guess: not finished and changed in the last two minutes."""
    summaries = list_runs(runs_root)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in summaries], indent=2))
        return
    if not summaries:
        click.echo(f"no runs under {runs_root}; train one with `chargan train --runs-root {runs_root}`")
        return
    for line in table(summaries):
        click.echo(line)


def table(summaries: list[RunSummary]) -> list[str]:
    """The aligned table's lines, then one line per run with a problem (why it is broken, say; an empty folder's
    state says it all)."""
    rows = [[header for header, _ in COLUMNS]] + [[cell(s, key) for _, key in COLUMNS] for s in summaries]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in rows]
    # Problems go below the table: a long message in a column would widen every row.
    return lines + [f"  {s.name}: {s.problem}" for s in summaries if s.problem and s.state != EMPTY]


def cell(summary: RunSummary, key: str) -> str:
    """One cell of the table; absent values are a dash."""
    s = summary
    if key == "name":
        return s.name
    if key == "family":
        return DASH if s.family is None else f"{s.family}/{s.config or DASH}"
    if key == "checkpoint":  # the newest checkpoint's iteration of the target
        if s.checkpoint_iteration is None and s.target is None:
            return DASH
        return f"{_maybe(s.checkpoint_iteration)}/{_maybe(s.target)}"
    if key == "logged":
        return _maybe(s.logged_iteration)
    if key == "headline":
        return DASH if s.headline is None else f"{s.headline}={_figure(s.headline_value)}"
    if key == "floor":
        return _figure(s.headline_floor)
    if key == "last_change":
        return s.last_change_time.strftime("%Y-%m-%d %H:%M:%S")
    if key == "state":
        return s.state
    raise ValueError(f"unknown column {key!r}")


def _maybe(value: int | None) -> str:
    return DASH if value is None else str(value)


def _figure(value: float | None) -> str:
    # Four significant digits read the same for a JS divergence (0.7439) and an FID (35.12).
    return DASH if value is None else f"{value:.4g}"
