"""A throwaway PostgreSQL server for the gradebook tests: one per test session.

initdb into a fresh temporary folder, started on a free loopback port (and a
Unix socket in that folder), trust authentication, no fsync; stopped and
removed when the session ends. As root (CI), the server runs as the
`postgres` user (or `nobody`): PostgreSQL refuses to run as root.

Skips, with the reason, only where no server can start: no server binaries
(Debian's `postgresql` puts them in /usr/lib/postgresql/N/bin, off PATH), no
psycopg, or a server that would not start. With DLVERIFY_REQUIRE_POSTGRES=1
(.ci/run sets it, after installing postgresql) each of these fails the test
instead: CI must never pass by skipping PostgreSQL.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

_cluster: Cluster | None = None
_why_not: str | None = None


def server_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.base = Path(tempfile.mkdtemp(prefix="dlverify-pg-"))
        self.data, self.log = self.base / "data", self.base / "server.log"
        self.port = 0
        self.user = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.user = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.user is None:
                raise RuntimeError("running as root and no postgres or nobody user to run the server as")
            os.chown(self.base, self.user.pw_uid, self.user.pw_gid)
        os.chmod(self.base, 0o700)

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        extra = {}
        if self.user is not None:
            extra = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        env = {"PATH": f"{self.bindir}:/usr/bin:/bin", "HOME": str(self.base), "LC_ALL": "C", "LANG": "C"}
        return subprocess.run([str(self.bindir / argv[0]), *argv[1:]], env=env, cwd=self.base, capture_output=True,
                              text=True, timeout=timeout, **extra)

    def start(self) -> None:
        done = self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                         "--no-locale", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {(done.stderr or done.stdout).strip()[-400:]}")
        for _ in range(3):   # a port taken between choosing it and binding it: choose again
            self.port = _free_port()
            options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
            done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", options,
                             "start")
            if done.returncode == 0:
                return
        log = self.log.read_text(errors="replace")[-400:] if self.log.exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {(done.stderr or done.stdout).strip()[-300:]} {log}")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop", timeout=30)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database on the server: one per test, so tests never see each other's rows."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def cluster() -> Cluster:
    """The session's server, started on first use; pytest.skip where none can start."""
    global _cluster, _why_not
    if _cluster is not None:
        return _cluster
    required = os.environ.get("DLVERIFY_REQUIRE_POSTGRES") == "1"
    if _why_not is None:
        bindir = server_binaries()
        if importlib.util.find_spec("psycopg") is None:
            _why_not = "psycopg is not installed (pip install -e '.[dev]')"
        if bindir is None and _why_not is None:
            _why_not = "no PostgreSQL server binaries (initdb) here: apt-get install postgresql"
        if _why_not is None:
            candidate = Cluster(bindir)
            try:
                candidate.start()
            except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
                candidate.stop()
                _why_not = f"a PostgreSQL server would not start here: {exc}"
            else:
                _cluster = candidate
                atexit.register(candidate.stop)
                return candidate
    if required:
        pytest.fail(f"DLVERIFY_REQUIRE_POSTGRES=1 but {_why_not}")
    pytest.skip(_why_not)
