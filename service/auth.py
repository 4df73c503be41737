"""API keys: generation, hashing, constant-time checks.

A community key reads ``bel_<role>_<key_id>_<secret>``. Only a SHA-256 of the secret is stored:
the secret is 256 random bits, so a slow password hash would add nothing but latency.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

ROLE_PREFIX = {"platform": "p", "organiser": "o"}
PREFIX_ROLE = {v: k for k, v in ROLE_PREFIX.items()}


@dataclass(frozen=True)
class IssuedKey:
    role: str
    key_id: str
    secret_hash: bytes
    token: str


@dataclass(frozen=True)
class ParsedKey:
    role: str
    key_id: str
    secret: str


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def issue_key(role: str) -> IssuedKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = f"bel_{ROLE_PREFIX[role]}_{key_id}_{secret}"
    return IssuedKey(role, key_id, hash_secret(secret), token)


# What issue_key produces: a 12-digit hex id and a url-safe base64 secret.
_KEY_FORMAT = re.compile(r"bel_([po])_([0-9a-f]{12})_([A-Za-z0-9_-]{16,128})")


def parse_key(token: str) -> ParsedKey | None:
    """The parts of a community key, or None for anything not shaped like one."""
    match = _KEY_FORMAT.fullmatch(token)
    if match is None:
        return None
    return ParsedKey(PREFIX_ROLE[match[1]], match[2], match[3])


def secret_matches(secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def load_or_create_admin_token(path: Path) -> tuple[str, bool]:
    """The admin token kept in ``path``; generated (mode 0600) on first use. Returns (token, created)."""
    if path.exists():
        return _read_token(path), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "bel_admin_" + secrets.token_urlsafe(32)
    try:
        # Created readable by its owner only, from the first byte; O_EXCL: two processes starting
        # together cannot both create it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token(path), False
    with os.fdopen(descriptor, "w") as file:
        file.write(token + "\n")
    return token, True


def _read_token(path: Path) -> str:
    # Another process may have created the file a moment ago and not written it yet.
    for _ in range(50):
        token = path.read_text().strip()
        if token:
            return token
        time.sleep(0.02)
    raise RuntimeError(f"the admin token file {path} is empty; delete it to generate a new token")
