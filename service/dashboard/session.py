"""Dashboard sessions: a signed cookie naming the community and the organiser key that opened it.

The cookie holds ``{slug, key_id, expires_at}`` and an HMAC-SHA256 over it, never the key. The
signing key is derived from the deployment's admin token, so every process of one deployment
accepts the cookies of the others and no session state is stored. The signature only proves
that this deployment issued the cookie; each request still checks that ``key_id`` is an active
organiser key of the community, so revoking the key ends its sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

COOKIE_NAME = "belonging_dashboard"
LIFETIME_S = 8 * 3600
_VERSION = "v1"


@dataclass(frozen=True)
class DashboardSession:
    slug: str
    key_id: str
    expires_at: int


def signing_key(admin_token: str) -> bytes:
    """The session signing key of a deployment, derived from its admin token."""
    return hashlib.sha256(b"dashboard-session:" + admin_token.encode()).digest()


def issue(slug: str, key_id: str, key: bytes, *, now: float | None = None) -> tuple[str, DashboardSession]:
    """A new session for ``slug`` opened with organiser key ``key_id``: (cookie value, session)."""
    session = DashboardSession(slug, key_id, int(now if now is not None else time.time()) + LIFETIME_S)
    payload = _encode(json.dumps({"slug": slug, "key_id": key_id, "exp": session.expires_at},
                                 separators=(",", ":")).encode())
    signed = f"{_VERSION}.{payload}"
    return f"{signed}.{_encode(_mac(key, signed))}", session


def verify(value: str, key: bytes, slug: str, *, now: float | None = None) -> DashboardSession | None:
    """The session in a cookie value if it is ours, unexpired and for ``slug``; otherwise None."""
    parts = value.split(".")
    if len(parts) != 3 or parts[0] != _VERSION:
        return None
    signed = f"{parts[0]}.{parts[1]}"
    try:
        given = _decode(parts[2])
    except ValueError:
        return None
    if not hmac.compare_digest(given, _mac(key, signed)):
        return None
    try:
        fields = json.loads(_decode(parts[1]))
        session = DashboardSession(str(fields["slug"]), str(fields["key_id"]), int(fields["exp"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.slug != slug or session.expires_at <= (now if now is not None else time.time()):
        return None
    return session


def _mac(key: bytes, signed: str) -> bytes:
    return hmac.new(key, signed.encode(), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64url") from error
