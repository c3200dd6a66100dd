"""What `dlverify serve` is configured with: one typed object, passed into the app."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

DEFAULT_HOME = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "dlverify"


@dataclass
class Settings:
    db_url: str = ""                        # "": the gradebook's default ($DLVERIFY_DB, else the SQLite file)
    secret_key: str = ""                    # signs session cookies; kept in the data folder by default
    data_dir: Path = DEFAULT_HOME
    max_upload_bytes: int = 1 << 20         # a submission is source code: 1 MiB is generous
    staff_session: timedelta = timedelta(hours=8)
    invite_valid: timedelta = timedelta(days=14)
    https_only: bool = False                # set behind TLS: the cookie is then never sent in clear
    similarity_threshold: float = 0.6
    sign_in_limit: tuple[int, float] = (5, 300.0)   # attempts per window (seconds), per address and email
    roles: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        if not self.secret_key:
            self.secret_key = os.environ.get("DLVERIFY_SECRET") or _stored_secret(self.data_dir)


def _stored_secret(folder: Path) -> str:
    """One secret per installation, made on first start: sessions survive a restart."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "web-secret"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        return secret
