"""Run ``chargan ARGS...`` in this process and die, as ``kill -9`` would, at one chosen write.

    python tests/crash_runner.py KIND N chargan-args...

KIND is the write point: ``replace`` (an atomic file write, its temporary
file complete but not yet renamed over the target: config, samples, plot,
metrics rewrite, checkpoint ``meta.json`` and ``latest``), ``rename`` (a
checkpoint folder about to be moved into place) or ``append`` (a
``metrics.jsonl`` line, half of it written). The process exits with 137 at
the N-th such call; if there are fewer, it finishes normally (exit 0).
Used by tests/test_reliability.py and benchmarks/crash_trials.py.
"""

from __future__ import annotations

import os
import sys

KILLED = 137


def main() -> None:
    kind, n, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    calls = 0

    def reached() -> bool:
        nonlocal calls
        calls += 1
        return calls == n

    if kind == "replace":
        real_replace = os.replace

        def replace(src, dst, *a, **k):  # type: ignore[no-untyped-def]
            if reached():
                os._exit(KILLED)
            return real_replace(src, dst, *a, **k)

        os.replace = replace
    elif kind == "rename":
        real_rename = os.rename

        def rename(src, dst, *a, **k):  # type: ignore[no-untyped-def]
            if reached():
                os._exit(KILLED)
            return real_rename(src, dst, *a, **k)

        os.rename = rename
    elif kind == "append":
        import chargan.core.run as run_module

        real_append = run_module.append_line

        def append_line(path, line):  # type: ignore[no-untyped-def]
            if reached():
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line[: len(line) // 2])  # half a record on disk, then the process is gone
                os._exit(KILLED)
            return real_append(path, line)

        run_module.append_line = append_line
    else:
        raise SystemExit(f"unknown write point {kind!r}")

    from chargan.cli.main import cli

    cli.main(args, prog_name="chargan")


if __name__ == "__main__":
    main()
