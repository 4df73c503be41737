"""API keys: generation, hashing, constant-time checks.

A community key reads ``bel_<role>_<key_id>_<secret>``. Only a SHA-256 of the secret is stored:
the secret is 256 random bits, so a slow password hash would add nothing but latency.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
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
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = "bel_admin_" + secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token, True
