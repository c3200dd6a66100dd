"""The gradebook's one kind of failure, lowest in the package (db.py and migrate.py both raise it)."""

from __future__ import annotations

from sqlalchemy.engine import URL

from ..errors import UsageError


class GradebookError(UsageError):
    """The gradebook cannot be used as asked (bad URL, server unreachable, unknown cohort): one
    line, exit code 2."""


def shown_url(url: URL) -> str:
    """A URL as it may be printed: never its password."""
    return url.render_as_string(hide_password=True)
