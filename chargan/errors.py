"""The one exception type for mistakes a user can fix.

The CLI prints a `UserError` as a single line (plus its hint) and exits with a
non-zero code; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input: a missing corpus, an impossible setting, a corrupt file.

    ``message`` says what was wrong, ``hint`` how to fix it.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class TrainingDiverged(UserError):
    """A loss, penalty or weight is no longer finite: training stopped there (the CLI exits with 3).

    No checkpoint of non-finite weights is written, so the run's last checkpoint stays good.
    """


class UsageError(UserError):
    """A request a command cannot serve as given (a flag that does not apply): the CLI exits with 2."""
