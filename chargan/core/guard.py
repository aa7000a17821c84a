"""The resume guard: a resumed run must keep the settings it was trained with.

A guard is a JSON-able nested dict (a config's ``guard()``: the model and
optimization settings, less what may change on resume). It is saved with
the run (``config.json``, each checkpoint's ``meta.json``) and compared
after a JSON round trip, so a tuple and the list it is saved as are equal.
"""

from __future__ import annotations

import json
from typing import Any

from chargan.errors import UserError


def jsonable(obj: Any) -> Any:
    """What ``obj`` looks like after a JSON round trip (tuples become lists)."""
    return json.loads(json.dumps(obj))


def describe_difference(saved: Any, current: Any, prefix: str = "") -> str:
    """``'a.b was 1, now 2; ...'`` for the leaves where two nested dicts differ."""
    if isinstance(saved, dict) and isinstance(current, dict):
        diffs = [
            describe_difference(saved.get(k), current.get(k), f"{prefix}{k}.")
            for k in sorted(set(saved) | set(current))
            if saved.get(k) != current.get(k)
        ]
        return "; ".join(diffs)
    return f"{prefix.rstrip('.')} was {saved!r}, now {current!r}"


def check_guard(saved: Any, current: Any, what: str, hint: str) -> None:
    """Raise `UserError` ``'<what> was trained with other settings: ...'`` unless the guards are equal as JSON.

    ``what`` names the thing resumed (``"run runs/x"``, ``"checkpoint .../step_00000100"``).
    """
    saved, current = jsonable(saved), jsonable(current)
    if saved != current:
        raise UserError(f"{what} was trained with other settings: {describe_difference(saved, current)}", hint=hint)
