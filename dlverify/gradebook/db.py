"""Opening a gradebook: the URL, the engine, sessions, and migrations run on open.

    url = database_url(args.db)        # --db, else DLVERIFY_DB, else ~/.local/share/dlverify/gradebook.db
    book = open_gradebook(url)         # migrated to head; a bad URL or a dead server: GradebookError
    with book.writing() as session:    # one transaction; committed on leaving
        ...
    with book.reading() as session:
        ...

A web app holds one Gradebook per process and takes a session per request
(book.session(write=...)), committing itself.

SQLite: write-ahead log, foreign keys on, a 30 s busy timeout, and every writing
transaction starts with BEGIN IMMEDIATE: it takes the write lock first, so two
processes recording at once queue for it instead of one failing with "database
is locked" when it upgrades a read. PostgreSQL: ordinary transactions, with
get-or-create done as INSERT ... ON CONFLICT DO NOTHING (record.py) so that
concurrent writers never trip on each other's unique keys.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator, Mapping

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from .errors import GradebookError, shown_url

ENV_VAR = "DLVERIFY_DB"
BUSY_TIMEOUT_S = 30
CONNECT_TIMEOUT_S = 10


def default_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "dlverify" / "gradebook.db"


def database_url(given: str | None = None, environ: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> URL:
    """The URL to open: `--db`, else $DLVERIFY_DB, else the SQLite file in the user's data folder.

    A value without `://` is a path to an SQLite file. `postgresql://` and `postgres://` mean
    psycopg 3 (SQLAlchemy's own default is psycopg2, which dlverify does not install).
    """
    environ = os.environ if environ is None else environ
    raw = given if given is not None else environ.get(ENV_VAR) or None
    where = "--db" if given is not None else ENV_VAR
    if raw is None:
        return URL.create("sqlite", database=str(default_path(environ)))
    raw = raw.strip()
    if not raw:
        raise GradebookError(f"{where} is empty: give a database URL or an SQLite file's path")
    if "://" not in raw:
        path = Path(raw).expanduser()
        if not path.is_absolute():
            path = (cwd or Path.cwd()) / path
        return URL.create("sqlite", database=str(path))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):   # ValueError: a port that is not a number
        raise GradebookError(f"{where} {_shown(raw)}: not a database URL (sqlite:///FILE or "
                             "postgresql://USER@HOST/DB)") from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql") and "+" not in url.drivername:
        url = url.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise GradebookError(f"{where} {_shown(raw)}: {backend} is not supported; use sqlite or postgresql")
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise GradebookError(f"{where} {_shown(raw)}: an SQLite gradebook must be a file (sqlite:///PATH)")
    return url


def _shown(raw: str) -> str:
    """A URL as it may be printed: never its password."""
    try:
        return make_url(raw).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return repr(raw.split("@")[-1]) if "@" in raw else repr(raw)


class Gradebook:
    """An open, migrated gradebook: the engine and its sessions."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.url = engine.url
        self._read = sessionmaker(engine, expire_on_commit=False)
        # Same pool; the option tells _begin (SQLite) to take the write lock at BEGIN.
        self._write = sessionmaker(engine.execution_options(dlverify_write=True), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        """One writing transaction: committed when the block ends, rolled back if it raises."""
        with _failures(self.url), self._write.begin() as session:
            yield session

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        with _failures(self.url), self._read() as session:
            yield session

    def session(self, *, write: bool = False) -> Session:
        """A session whose commits are its holder's (a web request, a grading worker). With
        write=True each of its transactions takes SQLite's write lock when it begins."""
        return (self._write if write else self._read)()

    def close(self) -> None:
        self.engine.dispose()


@contextlib.contextmanager
def _failures(url: URL) -> Iterator[None]:
    """A database that went away or refused a statement is one line, not a traceback."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise GradebookError(f"gradebook {shown_url(url)}: {first_line(exc.orig)}") from None


def first_line(exc: BaseException | None) -> str:
    """A database error in one line: the driver's own message (SQLAlchemy's `orig`) where
    there is one, else the exception's, else its type's name."""
    exc = getattr(exc, "orig", None) or exc
    lines = str(exc or "").strip().splitlines()
    return lines[0].strip() if lines else type(exc).__name__


def _write_ahead_log(cursor) -> None:
    """Switch the file to WAL (it stays so). Two processes making a new gradebook at once both
    try, and SQLite answers the second "database is locked" at once, without the busy timeout:
    so wait and look again, as the busy timeout would have."""
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_engine(url: URL) -> Engine:
    path = Path(url.database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GradebookError(f"gradebook {path}: cannot create its folder ({exc.strerror or exc})") from None
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:
        # The driver's own transaction handling off: _begin says BEGIN, and how.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
            _write_ahead_log(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")   # safe with WAL, and far fewer fsyncs
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        immediate = connection.get_execution_options().get("dlverify_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: URL) -> Engine:
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        return create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except (ModuleNotFoundError, NoSuchModuleError):
        raise GradebookError("a PostgreSQL gradebook needs psycopg 3: pip install 'dlverify[postgres]'") from None


def open_gradebook(url: URL | str | None = None, *, migrate: bool = True) -> Gradebook:
    """Connect, check the database answers, and bring its tables to the newest migration."""
    url = database_url(url) if not isinstance(url, URL) else url
    engine = _sqlite_engine(url) if url.get_backend_name() == "sqlite" else _postgres_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        if migrate:
            from .migrate import upgrade

            upgrade(engine)
    except GradebookError:
        engine.dispose()
        raise
    except (DBAPIError, SQLAlchemyError) as exc:
        engine.dispose()
        orig = getattr(exc, "orig", None) or exc
        raise GradebookError(f"gradebook {shown_url(url)}: {first_line(orig)}") from None
    return Gradebook(engine)
