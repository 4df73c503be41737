"""Dashboard sessions: a signed cookie naming the community and a session kept in the database.

The cookie holds ``{slug, session_id, expires_at}`` and an HMAC-SHA256 over it, never the key.
The signing key is derived from the deployment's admin token, so every process of one
deployment accepts the cookies of the others, and a forged cookie is refused without a query.
The signature only proves that this deployment issued the cookie; each request still looks the
session up (``repository.dashboard_sessions``): signing out deletes it, so a replayed cookie
opens nothing, and revoking the organiser key that opened it ends it too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

COOKIE_NAME = "belonging_dashboard"
LIFETIME_S = 8 * 3600
_VERSION = "v2"


@dataclass(frozen=True)
class DashboardSession:
    slug: str
    session_id: str
    expires_at: int


def signing_key(admin_token: str) -> bytes:
    """The session signing key of a deployment, derived from its admin token."""
    return hashlib.sha256(b"dashboard-session:" + admin_token.encode()).digest()


def issue(slug: str, key: bytes, *, now: float | None = None) -> tuple[str, DashboardSession]:
    """A new session for ``slug`` with a fresh random id: (cookie value, session).

    The caller stores the session (its id and expiry) before handing out the cookie.
    """
    session = DashboardSession(slug, str(uuid.uuid4()), int(now if now is not None else time.time()) + LIFETIME_S)
    payload = _encode(json.dumps({"slug": slug, "sid": session.session_id, "exp": session.expires_at},
                                 separators=(",", ":")).encode())
    signed = f"{_VERSION}.{payload}"
    return f"{signed}.{_encode(_mac(key, signed))}", session


def verify(value: str, key: bytes, slug: str, *, now: float | None = None) -> DashboardSession | None:
    """The session in a cookie value if this deployment signed it, unexpired and for ``slug``; otherwise None.

    Whether the session is still open is the database's to say, not the cookie's.
    """
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
        session = DashboardSession(str(fields["slug"]), str(uuid.UUID(fields["sid"])), int(fields["exp"]))
    except (ValueError, KeyError, TypeError, AttributeError):
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
