"""Shared set-up for the web app's tests: an app on a new gradebook (a temporary SQLite file, or
a fresh database on the session's PostgreSQL), signed-in clients."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from dlverify.gradebook.db import database_url, open_gradebook
from dlverify.gradebook.models import utcnow
from dlverify.web.app import create_app, ensure_staff
from dlverify.web.settings import Settings

STAFF = ("staff@example.com", "correct horse battery staple")
ROOT = Path(__file__).resolve().parent.parent


def make_app(tmp_path: Path, db_url: str | None = None, **overrides):
    """(app, its gradebook): SQLite in tmp_path unless a database URL is given."""
    settings = Settings(data_dir=tmp_path, db_url=db_url or f"sqlite:///{tmp_path / 'web.db'}", secret_key="k" * 48,
                        **overrides)
    book = open_gradebook(database_url(settings.db_url))
    ensure_staff(book, *STAFF)
    return create_app(settings, book), book


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def signed_in(app) -> TestClient:
    client = TestClient(app, follow_redirects=True)
    token = csrf_of(client.get("/staff/sign-in").text)
    page = client.post("/staff/sign-in", data={"email": STAFF[0], "password": STAFF[1], "csrf": token})
    assert page.status_code == 200 and "Assessments" in page.text
    return client


def new_assessment(client: TestClient, exercises=("backprop_mlp",), minutes=60, name="Autumn hiring") -> int:
    token = csrf_of(client.get("/staff/assessments/new").text)
    due = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%d")
    page = client.post("/staff/assessments/new", data={"csrf": token, "name": name, "role": "engineer",
                                                       "exercises": list(exercises), "minutes": str(minutes),
                                                       "due": due})
    assert page.status_code == 200, page.text
    return int(re.search(r"/staff/assessments/(\d+)/export.csv", page.text).group(1))


def invite(client: TestClient, assessment_id: int, name="Ada", email="ada@example.com") -> str:
    page = client.get(f"/staff/assessments/{assessment_id}")
    page = client.post(f"/staff/assessments/{assessment_id}/invite",
                       data={"csrf": csrf_of(page.text), "name": name, "email": email})
    assert page.status_code == 200
    return re.search(r'<code id="new-link">([^<]+)</code>', page.text).group(1)


def candidate(app, link: str) -> TestClient:
    client = TestClient(app, follow_redirects=True)
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200, page.text
    return client
