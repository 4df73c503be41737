"""ASGI middleware: body size limits and one structured access-log line per request."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from belonging.service import metrics
from belonging.service.errors import problem

log = logging.getLogger("belonging.access")


class BodyLimit:
    """Refuse bodies over the limit with 413 before the app parses them.

    NDJSON import routes get the import limit; every other route the (small) JSON limit. A
    declared Content-Length over the limit is refused at once; a body sent without one (chunked)
    is counted as it arrives, and once it passes the limit whatever the app makes of the cut-off
    body (a parse error, a 400) is replaced by the 413.
    """

    def __init__(self, app: ASGIApp, json_limit: int, import_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.import_limit = import_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.import_limit if scope["path"].endswith("/import") else self.json_limit
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        received = 0
        too_large = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            if too_large:
                raise _TooLarge()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _TooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                return  # the app's answer to a body it could not finish reading; the 413 follows
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            # _TooLarge itself, or whatever the app raised after its read was cut off.
            if not too_large or started:
                raise
        if too_large and not started:
            await self._too_large(scope, receive, send, limit)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(413, "Payload too large",
                           f"the body is larger than {limit} bytes; send less per request")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


class AccessLog:
    """Each answered request: a log line (``method path status ms`` as structured fields; never headers
    or query strings) and its metrics (:func:`belonging.service.metrics.observe_request`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            seconds = time.perf_counter() - started
            metrics.observe_request(scope, status, seconds)
            if log.isEnabledFor(logging.INFO):
                log.info("request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "ms": round(seconds * 1000, 2),
                })
