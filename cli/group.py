"""The click group class every ``chargan`` command group uses."""

from __future__ import annotations

from typing import Any

import click

from chargan.errors import UsageError, UserError


class CleanErrorGroup(click.Group):
    """Turns library `UserError`s into one ``Error:`` line (exit 1; a `UsageError` exits 2) and Ctrl-C into exit 130.

    Subcommands and nested groups run inside `invoke`, so one group class at
    the top covers every command below it.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            raise click.UsageError(str(exc)) from None  # the group's usage line would not be the command's
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(130) from None
