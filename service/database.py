"""Where the PostgreSQL comes from (given URL or embedded server), the pool, and migrations."""

from __future__ import annotations

import logging
import os
import warnings
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from belonging.service.config import Settings
from belonging.service.repository import distribution

log = logging.getLogger("belonging.database")

# Migrations ship inside the package (``belonging.migrations``), so a wheel carries its schema.
MIGRATIONS_PACKAGE = "belonging.migrations"
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_ID = 7_240_331


class EmbeddedPostgres:
    """A PostgreSQL server from the ``pgserver`` wheel, kept in ``<data_dir>/pgdata``.

    Several processes may share one data folder: the server starts with the first and stops when
    the last one exits, so data survives restarts.
    """

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: Any = None  # pgserver's PostgresServer, once started

    def start(self) -> str:
        os.environ.setdefault("XDG_RUNTIME_DIR", str(self.pgdata.parent))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            self.pgdata.mkdir(parents=True, exist_ok=True)
            self._server = pgserver.get_server(self.pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def resolve_database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """The URL to connect to, and the embedded server started for it when no URL was configured."""
    if settings.database_url:
        return settings.database_url, None
    embedded = EmbeddedPostgres(settings.data_dir)
    return embedded.start(), embedded


def open_pool(url: str, settings: Settings) -> AsyncConnectionPool:
    """An unopened async pool; the caller opens it (in the FastAPI lifespan)."""
    kwargs: dict[str, Any] = {"autocommit": False}
    if settings.multi_shard_query_log_level is not None:
        # Background work that reads every community relaxes it per transaction (repository.fan_out).
        kwargs["options"] = f"-c citus.multi_task_query_log_level={settings.multi_shard_query_log_level}"
    return AsyncConnectionPool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.pool_timeout_s,
        open=False,
        kwargs=kwargs,
        name="belonging",
    )


class MigrationsMissing(RuntimeError):
    """No migration files were found: the installation is broken, and serving would only fail later."""


def migration_files(directory: Traversable | Path | None = None) -> list[Traversable | Path]:
    """SQL files in name order (names are date-prefixed, so that is the order they were written)."""
    folder = directory if directory is not None else resources.files(MIGRATIONS_PACKAGE)
    files = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".sql")), key=lambda entry: entry.name)
    if not files:
        raise MigrationsMissing(f"no migration files in {folder}; the belonging package is incomplete, reinstall it")
    return files


_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " name text PRIMARY KEY,"
    " applied_at timestamptz NOT NULL DEFAULT now())"
)


def migrate(url: str, directory: Traversable | Path | None = None) -> list[str]:
    """Apply every migration not yet recorded, each exactly once and in its own transaction.

    On Citus, the community tables are then distributed and the shared ones replicated (see
    :mod:`belonging.service.repository.distribution`); on a single PostgreSQL nothing more happens.
    An advisory lock serialises concurrent migrators (several workers starting together).
    Returns the names applied by this call; raises :class:`MigrationsMissing` when the package
    holds no migration files at all.
    """
    files = migration_files(directory)
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_ID,))
        try:
            if distribution.has_citus(conn):
                # Tables already distributed carry the write-rule triggers; migrations may add more.
                conn.execute("SET citus.enable_unsafe_triggers TO on")
            conn.execute(_CREATE_LEDGER)
            done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
            for path in files:
                if path.name in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.name,))
                log.info("migration applied", extra={"migration": path.name})
                applied.append(path.name)
            changed = distribution.distribute(conn)
            if changed:
                log.info("tables distributed", extra={"tables": changed})
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_ID,))
    return applied


def layout(url: str) -> distribution.Layout:
    """How the database lays out the tables: single PostgreSQL, or Citus with what is distributed."""
    with psycopg.connect(url, autocommit=True) as conn:
        return distribution.layout(conn)


async def pending_migrations(conn: AsyncConnection) -> list[str]:
    """Names of shipped migrations this database has not applied yet (all of them on an empty one)."""
    shipped = [path.name for path in migration_files()]
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        return shipped
    cur = await conn.execute("SELECT name FROM schema_migrations")
    done = {name for (name,) in await cur.fetchall()}
    return [name for name in shipped if name not in done]
