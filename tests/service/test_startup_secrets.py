"""What ``belonging serve`` prints: a generated admin token once, a configured one never."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from belonging.service.cli import startup_lines
from belonging.service.config import Settings
from tests.conftest import ADMIN_TOKEN, _free_port

BASE = "http://127.0.0.1:8000"


def test_a_generated_admin_token_is_printed_the_first_time_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_token=None)
    first = "\n".join(startup_lines(settings, BASE))
    token = settings.admin_token_file.read_text().strip()
    assert token.startswith("bel_admin_") and token in first
    assert stat.S_IMODE(settings.admin_token_file.stat().st_mode) == 0o600
    again = "\n".join(startup_lines(settings, BASE))
    assert token not in again and str(settings.admin_token_file) in again
    assert settings.admin_token_file.read_text().strip() == token


def test_an_admin_token_from_the_environment_is_never_printed_or_stored(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_token="operator-chosen-token")
    printed = "\n".join(startup_lines(settings, BASE))
    assert "operator-chosen-token" not in printed and "BELONGING_ADMIN_TOKEN" in printed
    assert not settings.admin_token_file.exists()


def test_the_demo_keys_are_printed_only_when_the_demo_is_created(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_token="operator-chosen-token")
    keys = {"slug": "demo", "platform_key": "bel_p_000000000000_platformsecret00", "organiser_key":
            "bel_o_000000000000_organisersecret0"}
    created = "\n".join(startup_lines(settings, BASE, keys))
    assert keys["platform_key"] in created and keys["organiser_key"] in created
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "demo_keys.json").write_text('{"slug": "demo", "platform_key": "bel_p_x", '
                                                      '"organiser_key": "bel_o_x"}')
    later = "\n".join(startup_lines(settings, BASE))
    assert "bel_p_x" not in later and "bel_o_x" not in later and "/dashboard/demo" in later


def test_the_serve_command_keeps_an_environment_token_out_of_its_output(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {"DATABASE_URL": database_url, "BELONGING_ADMIN_TOKEN": ADMIN_TOKEN, "BELONGING_DATA_DIR": str(tmp_path),
           "BELONGING_LOG_LEVEL": "INFO", "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "-m", "belonging.service.cli", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "Belonging is starting" in output
    assert ADMIN_TOKEN not in output
