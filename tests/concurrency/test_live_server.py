"""The live-server fixture the race tests use: a real process answering over a real socket."""

from __future__ import annotations

from tests.conftest import ADMIN, LiveServer


def test_live_server_creates_a_community_over_a_socket(live_server: LiveServer) -> None:
    with live_server.client() as http:
        created = http.post("/v1/communities", json={"slug": "live", "name": "Live"}, headers=ADMIN)
        assert created.status_code == 201, created.text
        again = http.post("/v1/communities", json={"slug": "live", "name": "Live"}, headers=ADMIN)
        assert again.status_code == 409
