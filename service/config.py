"""Configuration from the environment (``DATABASE_URL``, ``BELONGING_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Operator settings. Unset ``DATABASE_URL`` means: run an embedded PostgreSQL in ``data_dir``."""

    model_config = SettingsConfigDict(env_prefix="BELONGING_", extra="ignore")

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    data_dir: Path = Path(".belonging")
    admin_token: str | None = None
    pool_min_size: int = 2
    pool_max_size: int = 10
    # How long a request waits for a database connection before it is answered 503 (with
    # Retry-After): the database is away, or every connection is busy.
    pool_timeout_s: float = 5.0
    # JSON bodies are small; NDJSON imports may carry millions of lines.
    max_body_bytes: int = 1_000_000
    max_import_bytes: int = 512_000_000
    log_level: str = "INFO"
    # Run the daily snapshot / job worker inside the API process (in one process of all that
    # serve the database: the one holding the leader lock).
    run_worker: bool = True
    # Worker processes of ``belonging serve``: a number, or "auto" for one per CPU core.
    workers: str = "1"
    # Requests per minute each community key may make, in bursts up to the same number; 0 turns
    # the limit off. Counted per process: see "Rate limits" in the README.
    rate_limit_per_minute: int = Field(default=1200, ge=0)
    # On Citus: how a request's query that runs on more than one shard is reported (Citus's
    # citus.multi_task_query_log_level: off, log, notice, warning or error). Every request names one
    # community, so none should; the Citus test run sets `error` so that one fails the suite.
    multi_shard_query_log_level: Literal["off", "log", "notice", "warning", "error"] | None = None

    # Suggestion index overlay: past this many members changed since the build (or this share of
    # the community, whichever is larger) a new build is made in the background.
    index_compact_after_changes: int = Field(default=500, ge=1)
    index_compact_after_share: float = Field(default=0.01, gt=0, le=1)

    @property
    def index_dir(self) -> Path:
        """Where suggestion index builds are written and mapped from (see service/index_builds.py)."""
        return self.data_dir / "indexes"

    @property
    def admin_token_file(self) -> Path:
        return self.data_dir / "admin_token"
