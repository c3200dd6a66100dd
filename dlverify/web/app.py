"""The web application: FastAPI with server-rendered Jinja2 pages (no JavaScript build step)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from . import candidate, staff
from .db import open_engine, session_factory
from .models import Staff
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


def create_app(settings: Settings, sessions: sessionmaker | None = None) -> FastAPI:
    app = FastAPI(title="dlverify", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.sessions = sessions or session_factory(open_engine(settings.db_url))
    app.state.sign_in_limit = RateLimit(*settings.sign_in_limit)

    @app.middleware("http")
    async def database_and_headers(request: Request, call_next):
        with app.state.sessions() as db:
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


def ensure_staff(sessions: sessionmaker, email: str, password: str | None) -> str | None:
    """Create a staff account when none exists yet; returns the password it was given."""
    import secrets

    with sessions() as db:
        if db.scalars(select(Staff).limit(1)).first() is not None:
            return None
        password = password or secrets.token_urlsafe(12)
        db.add(Staff(email=email.strip().lower(), password_hash=hash_password(password)))
        db.commit()
        return password


__all__ = ["HTTPException", "create_app", "ensure_staff"]
