"""The web application: FastAPI with server-rendered Jinja2 pages (no JavaScript build step)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from ..gradebook.db import Gradebook, database_url, open_gradebook
from ..gradebook.models import Staff
from . import candidate, staff
from .pages import render, see_other
from .security import RateLimit, hash_password
from .settings import Settings

# Pages are ours alone: no inline script runs, nothing loads from elsewhere, no one frames us.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",   # the invitation token is in a URL: never hand it to another site
    "X-Frame-Options": "DENY",
}


def create_app(settings: Settings, book: Gradebook | None = None) -> FastAPI:
    """The app on the gradebook (opened from settings.db_url unless given, migrated)."""
    app = FastAPI(title="dlverify", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.book = book or open_gradebook(database_url(settings.db_url or None))
    app.state.sign_in_limit = RateLimit(*settings.sign_in_limit)

    @app.middleware("http")
    async def database_and_headers(request: Request, call_next):
        # A page that only shows reads; a form's transaction takes SQLite's write lock at its
        # start, so it never fails half-way when a grading worker writes at the same moment.
        with app.state.book.session(write=request.method not in ("GET", "HEAD")) as db:
            request.state.db = db
            response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    # Added after the database middleware, so it runs first: the session is there for every page.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie="dlverify_session",
                       max_age=int(max(settings.staff_session, settings.invite_valid).total_seconds()),
                       same_site="lax", https_only=settings.https_only)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 303 and exc.headers and "Location" in exc.headers:
            return see_other(exc.headers["Location"])
        message = exc.detail if isinstance(exc.detail, str) else "something went wrong"
        return render(request, "error.html", status_code=exc.status_code, message=message)

    @app.get("/")
    def root():
        return see_other("/staff")

    app.include_router(staff.router)
    app.include_router(candidate.router)
    return app


def ensure_staff(book: Gradebook, email: str, password: str | None) -> str | None:
    """Create a staff account when none exists yet; returns the password it was given."""
    import secrets

    with book.writing() as db:
        if db.scalars(select(Staff).limit(1)).first() is not None:
            return None
        password = password or secrets.token_urlsafe(12)
        db.add(Staff(email=email.strip().lower(), password_hash=hash_password(password)))
        return password


__all__ = ["HTTPException", "create_app", "ensure_staff"]
