"""Passwords, invitation tokens, CSRF tokens and the sign-in rate limit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()   # argon2id with the library's current parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """An invitation token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # A fast hash is right here: the token is random, not a password; no salt needed to look it up.
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session: dict) -> str:
    """The form token of this session (made once per session, kept in the signed cookie)."""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(session: dict, sent: str | None) -> bool:
    want = session.get("csrf")
    return isinstance(want, str) and isinstance(sent, str) and hmac.compare_digest(want, sent)


class RateLimit:
    """At most `limit` attempts per key in `window` seconds (sign-in: per address and per email)."""

    def __init__(self, limit: int = 5, window: float = 300.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._seen: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, *keys: str) -> bool:
        now = self.clock()
        with self._lock:
            for key in keys:
                seen = self._seen[key]
                while seen and now - seen[0] > self.window:
                    seen.popleft()
                if len(seen) >= self.limit:
                    return False
            for key in keys:
                self._seen[key].append(now)
            return True
