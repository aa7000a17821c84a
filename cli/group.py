"""The click group class every ``chargan`` command group uses."""

from __future__ import annotations

import errno
import signal
import threading
from typing import Any

import click

from chargan.errors import TrainingDiverged, UsageError, UserError

#: The exit code of a run stopped because its losses or weights stopped being finite (README: Exit codes).
DIVERGED_EXIT_CODE = 3


class CleanErrorGroup(click.Group):
    """Turns library `UserError`s into one ``Error:`` line (exit 1; a `UsageError` exits 2, a diverged run 3),
    a full disk and an exhausted allocator into one ``Error:`` line too (exit 1), and Ctrl-C or SIGTERM
    into exit 130 (during training the trainer answers them itself: it stops at the iteration's end).

    Subcommands and nested groups run inside `invoke`, so one group class at
    the top covers every command below it.
    """

    def invoke(self, ctx: click.Context) -> Any:
        previous = _interrupt_on_sigterm()
        thread_hook, threading.excepthook = threading.excepthook, _quiet_full_disk_in_threads
        try:
            return super().invoke(ctx)
        except TrainingDiverged as exc:
            error = click.ClickException(str(exc))
            error.exit_code = DIVERGED_EXIT_CODE
            raise error from None
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None  # the group's usage line would not be the command's
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(130) from None
        except OSError as exc:
            if exc.errno not in _DISK_FULL:
                raise
            where = f" writing {exc.filename}" if exc.filename else ""
            raise click.ClickException(
                f"the disk is full{where} ({exc.strerror}); everything written before is intact\n"
                "  hint: free some space, then run the command again; a training run that had started continues "
                "in place from its last checkpoint with `chargan train --resume --run DIR`") from None
        except (MemoryError, RuntimeError) as exc:
            if not _out_of_memory(exc):
                raise
            raise click.ClickException(
                f"out of memory: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}\n"
                "  hint: lower --batch-size, the model's size (--dim, --n-blocks) or --eval-samples; "
                "a training run resumes from its last checkpoint with --resume") from None
        finally:
            threading.excepthook = thread_hook
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


#: errno values of a write that found no room: no space, a quota, a file-size limit.
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _quiet_full_disk_in_threads(args: Any) -> None:
    """A writer thread's full disk (TensorBoard's) prints no traceback: its writer raises it again in the
    command, which reports it as one line."""
    if isinstance(args.exc_value, OSError) and args.exc_value.errno in _DISK_FULL:
        return
    threading.__excepthook__(args)


def _out_of_memory(exc: BaseException) -> bool:
    """True for an allocator's failure (CPU or CUDA), which torch raises as a RuntimeError."""
    text = str(exc)
    return (isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"
            or "can't allocate memory" in text or "out of memory" in text.lower())


def _interrupt_on_sigterm() -> Any:
    """Make SIGTERM interrupt like Ctrl-C (exit 130, not -15) while a command sets up; the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return None  # an outer group (or the embedding program) already chose
    return signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
