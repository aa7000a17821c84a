"""The click group class every ``chargan`` command group uses."""

from __future__ import annotations

from typing import Any

import click

from chargan.errors import TrainingDiverged, UsageError, UserError

#: The exit code of a run stopped because its losses or weights stopped being finite (README: Exit codes).
DIVERGED_EXIT_CODE = 3


class CleanErrorGroup(click.Group):
    """Turns library `UserError`s into one ``Error:`` line (exit 1; a `UsageError` exits 2, a diverged run 3) and
    Ctrl-C into exit 130.

    Subcommands and nested groups run inside `invoke`, so one group class at
    the top covers every command below it.
    """

    def invoke(self, ctx: click.Context) -> Any:
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
