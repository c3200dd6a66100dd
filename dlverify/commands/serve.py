"""serve: the web app (staff run assessments, candidates take them) and its grading workers."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys

from ..outcome import ExitCode


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the web app: staff create time-boxed assessments, candidates take "
                                     "them in a browser, uploads are graded in the sandbox by a worker")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the gradebook: an SQLite file or a database URL (default: $DLVERIFY_DB, else "
                        "~/.local/share/dlverify/gradebook.db); postgresql://user:pass@host/db for a shared one")
    p.add_argument("--workers", type=int, default=1,
                   help="grading workers started beside the web process (0: run `dlverify serve-worker` "
                        "elsewhere); one keeps CPU timings honest")
    p.add_argument("--ray", default=None, metavar="ADDRESS", help="workers send each grading to this Ray cluster")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where gradings run (as for grade)")
    p.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"], help="the sandbox (as for grade)")
    p.add_argument("--no-throughput", action="store_true", help="grade correctness only (no timing)")
    p.add_argument("--staff-email", default="admin@localhost",
                   help="the first staff account, made on first start with a password printed once")
    p.add_argument("--https-only", action="store_true",
                   help="session cookies only over HTTPS (set when a TLS proxy is in front)")
    p.set_defaults(func=cmd_serve)

    w = sub.add_parser("serve-worker", help="a grading worker for `dlverify serve` (same database), on this or another machine")
    w.add_argument("--db", default=None, metavar="URL", help="the gradebook `dlverify serve` uses (default: $DLVERIFY_DB, else the local SQLite file)")
    w.add_argument("--ray", default=None, metavar="ADDRESS", help="send each grading to this Ray cluster")
    w.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="where gradings run (as for grade)")
    w.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"], help="the sandbox (as for grade)")
    w.add_argument("--no-throughput", action="store_true", help="grade correctness only (no timing)")
    w.set_defaults(func=cmd_worker)


def _settings(args):
    from ..web.settings import Settings

    return Settings(https_only=getattr(args, "https_only", False))


def _open(env, args):
    """The gradebook, open and migrated; None after one line saying why not."""
    from ..gradebook.db import database_url, open_gradebook
    from ..gradebook.errors import GradebookError

    try:
        return open_gradebook(database_url(args.db, cwd=env.cwd))
    except GradebookError as exc:
        env.stderr.write(f"dlverify: {exc}\n")
        return None


def _worker_options(args) -> list[str]:
    """The arguments of dlverify/web/worker.py's main(), from serve's or serve-worker's options."""
    out = ["--device", args.device, "--sandbox", args.sandbox]
    if args.ray:
        out += ["--ray", args.ray]
    if args.no_throughput:
        out.append("--no-throughput")
    return out


def _web_installed(env) -> bool:
    try:
        import fastapi, uvicorn, sqlalchemy, python_multipart, argon2, copydetect  # noqa: F401,E401
    except ImportError as exc:
        env.stderr.write(f"dlverify: serve needs the web extra ({exc.name} is missing): pip install 'dlverify[web]'\n")
        return False
    return True


def cmd_serve(args, env) -> int:
    if not _web_installed(env):
        return ExitCode.USAGE
    import uvicorn

    from ..web.app import create_app, ensure_staff

    if not 0 < args.port < 65536 or args.workers < 0:
        env.stderr.write("dlverify: --port must be 1-65535 and --workers 0 or more\n")
        return ExitCode.USAGE
    with socket.socket() as probe:   # say so now, in one line, rather than after the workers start
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            env.stderr.write(f"dlverify: cannot listen on {args.host}:{args.port} ({exc.strerror or exc})\n")
            return ExitCode.USAGE
    book = _open(env, args)
    if book is None:
        return ExitCode.USAGE
    settings = _settings(args)
    password = ensure_staff(book, args.staff_email, os.environ.get("DLVERIFY_STAFF_PASSWORD"))
    if password:
        env.stdout.write(f"first staff account: {args.staff_email}  password: {password}  (shown once)\n")
    # The URL goes to the workers in their environment: on a command line `ps` shows its password.
    worker_env = {**os.environ, "DLVERIFY_DB": book.url.render_as_string(hide_password=False)}
    command = [sys.executable, "-m", "dlverify.web.worker", *_worker_options(args)]
    workers: list[subprocess.Popen] = []
    shown = book.url.render_as_string(hide_password=True)
    try:   # from the first worker on: Ctrl-C during the banner must not leave workers without a server
        for _ in range(args.workers):
            workers.append(subprocess.Popen(command, env=worker_env))
        env.stdout.write(f"dlverify serve: http://{args.host}:{args.port}/  gradebook {shown}  "
                         f"{len(workers)} grading worker(s){' on Ray ' + args.ray if args.ray else ''}\n")
        env.stdout.flush()
        uvicorn.run(create_app(settings, book), host=args.host, port=args.port, log_level="warning")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    return ExitCode.OK


def cmd_worker(args, env) -> int:
    if not _web_installed(env):
        return ExitCode.USAGE
    from ..web.worker import main

    book = _open(env, args)
    if book is None:
        return ExitCode.USAGE
    os.environ["DLVERIFY_DB"] = book.url.render_as_string(hide_password=False)
    book.close()
    return main(_worker_options(args))
