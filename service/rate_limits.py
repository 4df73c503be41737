"""Request rate limits per community key: one token bucket per key, in this process's memory.

Each key may send ``per_minute`` requests in a burst, and the bucket refills at ``per_minute``
tokens a minute. A request over the limit gets 429 with ``Retry-After``; every response to a
keyed request carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
(seconds until the bucket is full again). The admin token has no bucket.

The buckets live in each process: with several workers or replicas a key may send up to the
limit to each of them. Keeping them in PostgreSQL would cost a write per request on one hot row
per key, which would serialise a platform's own requests; operators who want a fleet-wide
number divide it by the number of processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from belonging.service.errors import ApiError

#: Where a request's quota is kept for the headers middleware: ``scope["state"][STATE_KEY]``.
STATE_KEY = "rate_limit"
#: Buckets kept before full (idle) ones are dropped; a full bucket is the same as no bucket.
PRUNE_ABOVE = 10_000


@dataclass(frozen=True)
class Quota:
    """What a request left in its key's bucket."""

    limit: int
    remaining: int
    reset_seconds: int
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        sent = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset_seconds)}
        if self.retry_after is not None:
            sent["Retry-After"] = str(self.retry_after)
        return sent


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets by key id. Not thread-safe: used from the event loop only, with no await inside."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _refilled(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.per_minute), bucket.tokens + (now - bucket.updated) * self.rate)

    def take(self, key_id: str) -> Quota:
        """Spend one token of ``key_id``'s bucket; the quota says whether there was one (``retry_after``)."""
        now = self.clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            if len(self._buckets) >= PRUNE_ABOVE:
                self._prune(now)
            bucket = self._buckets[key_id] = _Bucket(float(self.per_minute), now)
        tokens = self._refilled(bucket, now)
        retry_after = None
        if tokens >= 1:
            tokens -= 1
        else:
            retry_after = max(1, math.ceil((1 - tokens) / self.rate))
        bucket.tokens, bucket.updated = tokens, now
        reset = math.ceil((self.per_minute - tokens) / self.rate)
        return Quota(self.per_minute, math.floor(tokens), reset, retry_after)

    def _prune(self, now: float) -> None:
        full = [key for key, bucket in self._buckets.items() if self._refilled(bucket, now) >= self.per_minute]
        for key in full:
            del self._buckets[key]


def spend(limiter: RateLimiter, key_id: str, state: dict) -> None:
    """Take one request from the key's bucket; raise 429 when it is empty.

    The quota is left in ``state`` (the request's scope state) for :class:`RateLimitHeaders`.
    """
    if not limiter.enabled:
        return
    quota = limiter.take(key_id)
    state[STATE_KEY] = quota
    if quota.retry_after is not None:
        raise ApiError(429, "Too many requests",
                       f"this key may send {quota.limit} requests a minute; retry in {quota.retry_after} s",
                       headers=quota.headers())


class RateLimitHeaders:
    """Adds the ``RateLimit-*`` headers of the request's key to its response, whatever the status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = state.get(STATE_KEY)
                if isinstance(quota, Quota):
                    present = {name.lower() for name, _ in message.get("headers", [])}
                    extra = [(name.lower().encode(), value.encode()) for name, value in quota.headers().items()
                             if name.lower().encode() not in present]
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
