"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from belonging.service import auth, index_builds, logs, metrics
from belonging.service import reports as report_jobs
from belonging.service.config import Settings
from belonging.service.database import EmbeddedPostgres, migrate, open_pool, resolve_database_url
from belonging.service.errors import install_error_handlers
from belonging.service.indexes import IndexCache
from belonging.service.jobs import Leadership, Worker
from belonging.service.keys import KeyUsage, KnownKeys
from belonging.service.middleware import AccessLog, BodyLimit
from belonging.service.openapi import install_openapi, operation_id
from belonging.service.rate_limits import RateLimiter, RateLimitHeaders
from belonging.service.routers import (
    communities,
    connections,
    dashboard,
    groups,
    health,
    jobs,
    keys,
    members,
    reports,
    rounds,
    suggestions,
)
from belonging.service.routers import metrics as metrics_router
from belonging.service.shared_indexes import SharedIndexes

log = logging.getLogger("belonging.app")

DESCRIPTION = """\
Belonging keeps a community's members as a graph and helps them connect: peer suggestions
(isolated and new members first), support-group placement, and silo reports for organisers.

Authenticate with `Authorization: Bearer <key>`: the admin token creates communities; a
community's platform key manages its members and ties; its organiser key reads reports and
manages groups and settings. Errors are RFC 9457 problem details (`application/problem+json`).

Work that takes long in a large community (reports, what-ifs, placements) may answer 202 with a
job to poll at `Location` instead of the result.
"""


def admin_token(settings: Settings) -> str:
    if settings.admin_token:
        return settings.admin_token
    token, _ = auth.load_or_create_admin_token(settings.admin_token_file)
    return token


def create_worker_app() -> FastAPI:
    """The app of one ``belonging serve`` worker process, configured from the environment."""
    settings = Settings()
    logs.configure(settings.log_level)
    return create_app(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. The database is reached (or the embedded one started) in the lifespan."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        embedded: EmbeddedPostgres | None = None
        url, embedded = resolve_database_url(settings)
        try:
            migrate(url)
            app.state.database_url = url
            app.state.admin_token = admin_token(settings)
            async with open_pool(url, settings) as pool:
                app.state.pool = pool
                app.state.shared_indexes = SharedIndexes(settings, url, pool)
                app.state.indexes = IndexCache(pool, rankers_for=app.state.shared_indexes.rankers)
                app.state.key_usage = KeyUsage(pool)
                worker = Worker(pool, app.state, schedule=app.state.schedule)
                leadership = Leadership(url, worker, index_builds.machine_name(settings.index_dir))
                if settings.run_worker:
                    leadership.start()
                try:
                    yield
                finally:
                    await leadership.stop()
                    await app.state.indexes.close()
                    await app.state.shared_indexes.close()
                    await app.state.key_usage.close()
        finally:
            metrics.process_stopped()
            if embedded is not None:
                embedded.stop()

    app = FastAPI(
        title="Belonging",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    app.state.known_keys = KnownKeys()
    # Periodic work: every community gets a daily silo snapshot.
    app.state.schedule = report_jobs.schedule_daily_snapshots
    install_error_handlers(app)
    install_openapi(app)
    routers = (health, communities, keys, members, connections, suggestions, groups, rounds, reports, jobs,
               dashboard, metrics_router)
    for router in (module.router for module in routers):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(BodyLimit, json_limit=settings.max_body_bytes,
                       import_limit=settings.max_import_bytes)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(AccessLog)
    return app
