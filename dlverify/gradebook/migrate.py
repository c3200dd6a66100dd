"""Alembic migrations, run from code when a gradebook is opened (no alembic.ini anywhere).

The scripts live in migrations/ inside the package, so an installed dlverify
carries them. Opening a gradebook already at the newest revision costs one
SELECT; otherwise the upgrade runs in one transaction holding a lock (SQLite's
write lock, a PostgreSQL advisory lock), so that two processes opening a new
gradebook at once never both create its tables.

A new migration (a developer's step, after changing models.py):

    python -m dlverify.gradebook.migrate revision "what changed"   # then edit the new file
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Engine

from .errors import GradebookError, shown_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK = 0x646C7666  # "dlvf": the key every dlverify process takes while it migrates


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    cfg = config()
    script = ScriptDirectory.from_config(cfg)
    now = current(engine)
    if now == script.get_current_head():
        return
    if now is not None and now not in {rev.revision for rev in script.walk_revisions()}:
        raise GradebookError(f"gradebook {shown_url(engine.url)} is at revision {now}, which this dlverify "
                             "does not know: it was made by a newer dlverify; upgrade dlverify to use it")
    with engine.execution_options(dlverify_write=True).begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        cfg.attributes["connection"] = connection
        try:
            command.upgrade(cfg, "head")   # at head already (another process won the race): nothing to do
        except CommandError as exc:
            raise GradebookError(f"gradebook {shown_url(engine.url)}: cannot migrate ({exc})") from None


def _revision(message: str) -> None:
    command.revision(config(), message=message)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit("usage: python -m dlverify.gradebook.migrate revision MESSAGE")
    _revision(sys.argv[2])
