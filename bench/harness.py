"""What the benches share: where the real data sets live, and a database plus a running service."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from belonging.service.database import EmbeddedPostgres, migrate

ADMIN = "bench-admin-token"


def shared_data() -> Path:
    """The shared data folder: ``BELONGING_SHARED_DATA`` or ``../shared/data`` from the repository."""
    override = os.environ.get("BELONGING_SHARED_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def database_and_service() -> Iterator[tuple[str, str]]:
    """``(database_url, service_base_url)``: ``DATABASE_URL`` or an embedded PostgreSQL in a
    temporary folder, migrated, and ``belonging serve`` running against it with admin token ``ADMIN``."""
    with service() as running:
        yield running.database_url, running.base_url


class Service:
    """A running ``belonging serve``: where it answers, its database, data folder and process."""

    def __init__(self, database_url: str, base_url: str, data_dir: Path, process: subprocess.Popen) -> None:
        self.database_url = database_url
        self.base_url = base_url
        self.data_dir = data_dir
        self.process = process


@contextmanager
def service(args: tuple[str, ...] = (), env: dict[str, str] | None = None) -> Iterator[Service]:
    """Like :func:`database_and_service`, with extra ``serve`` arguments and environment."""
    with tempfile.TemporaryDirectory() as tmp:
        embedded = None
        url = os.environ.get("DATABASE_URL")
        if not url:
            embedded = EmbeddedPostgres(Path(tmp))
            url = embedded.start()
        migrate(url)
        port = _free_port()
        env = os.environ | {"DATABASE_URL": url, "BELONGING_ADMIN_TOKEN": ADMIN,
                            "BELONGING_DATA_DIR": str(Path(tmp) / "data"),
                            "BELONGING_LOG_LEVEL": "WARNING"} | (env or {})
        command = [sys.executable, "-m", "belonging.service.cli", "serve", "--port", str(port), *args]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise SystemExit("the service did not start")
            yield Service(url, base, Path(tmp) / "data", process)
        finally:
            process.terminate()
            process.wait()
            if embedded is not None:
                embedded.stop()
