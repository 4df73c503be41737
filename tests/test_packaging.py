"""The wheel is the whole product: built from the checkout, installed elsewhere, it migrates and serves."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from belonging.service.database import MigrationsMissing, migrate, migration_files
from tests.conftest import create_database, drop_database

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["pyproject.toml", "README.md", "service", "matching", "graph", "migrations"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of the checkout (so the build leaves nothing in the working tree)."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out),
                    str(source)], check=True, cwd=out)
    (built,) = out.glob("belonging-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with only the wheel installed; its dependencies are borrowed
    from the test environment's site-packages through a path file (which runs none of its .pth hooks,
    so the editable install of the checkout stays invisible)."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    python = home / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
                   check=True)
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return home


def _run(home: Path, *args: str, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(home / "bin" / args[0]), *args[1:]], capture_output=True, text=True,
                          env=env, cwd=cwd or home, timeout=120)


def test_wheel_holds_one_import_root_with_migrations_templates_and_static_files(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"belonging"}
    assert {path.name for path in migration_files()} <= {Path(n).name for n in names if n.endswith(".sql")}
    assert "belonging/service/templates/dashboard.html" in names
    assert "belonging/service/static/dashboard.css" in names


def test_only_the_belonging_root_is_importable_from_the_installed_wheel(installed: Path) -> None:
    for generic in ("graph", "matching", "service", "migrations"):
        result = _run(installed, "python", "-c", f"import {generic}")
        assert result.returncode != 0 and "ModuleNotFoundError" in result.stderr, generic
    result = _run(installed, "python", "-c",
                  "import belonging.graph, belonging.matching, belonging.service.app; print(belonging.graph.__file__)")
    assert result.returncode == 0, result.stderr
    assert str(ROOT) not in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def empty_database(postgres_url: str) -> Iterator[str]:
    url = create_database(postgres_url, template=None)
    yield url
    drop_database(postgres_url, url)


def test_installed_wheel_migrates_serves_and_writes(installed: Path, empty_database: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env |= {"DATABASE_URL": empty_database, "BELONGING_ADMIN_TOKEN": "wheel-admin",
            "BELONGING_DATA_DIR": str(tmp_path / "data"), "BELONGING_LOG_LEVEL": "WARNING"}

    migrated = _run(installed, "belonging", "migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert "Applied: " in migrated.stdout and migration_files()[0].name in migrated.stdout

    port = _free_port()
    server = subprocess.Popen([str(installed / "bin" / "belonging"), "serve", "--port", str(port)], env=env,
                              cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
            time.sleep(0.2)
        else:
            pytest.fail("the installed service never became ready")
        created = httpx.post(base + "/v1/communities", json={"slug": "wheelhouse", "name": "Wheelhouse"},
                             headers={"Authorization": "Bearer wheel-admin"})
        assert created.status_code == 201, created.text
        key = created.json()["platform_key"]
        member = httpx.put(base + "/v1/communities/wheelhouse/members/ada", json={"interests": ["chess"]},
                           headers={"Authorization": f"Bearer {key}"})
        assert member.status_code == 201, member.text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_migrate_fails_loudly_when_the_package_has_no_migrations(empty_database: str, tmp_path: Path) -> None:
    with pytest.raises(MigrationsMissing, match="no migration files"):
        migrate(empty_database, tmp_path)


def test_readiness_is_503_while_migrations_are_pending(client: TestClient, database_url: str) -> None:
    assert client.get("/readyz").status_code == 200
    with psycopg.connect(database_url) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE name = %s", (migration_files()[-1].name,))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["pending"] == [migration_files()[-1].name]
