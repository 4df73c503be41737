"""Connections and blocks: undirected, idempotent, and refusing bad input without side effects."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import CommunityKeys


@pytest.fixture
def members(client: TestClient, community: CommunityKeys) -> list[str]:
    ids = ["ana", "bob", "cy"]
    for member_id in ids:
        assert (
            client.put(community.url(f"/members/{member_id}"), json={}, headers=community.platform).status_code == 201
        )
    return ids


def ties_of(client: TestClient, community: CommunityKeys, member_id: str) -> list[dict]:
    response = client.get(community.url(f"/members/{member_id}/connections"), headers=community.platform)
    assert response.status_code == 200
    return response.json()["connections"]


def test_a_connection_is_undirected_and_idempotent(
    client: TestClient, community: CommunityKeys, members: list[str]
) -> None:
    first = client.put(
        community.url("/connections"),
        json={"a": "bob", "b": "ana", "weight": 2, "kind": "friend"},
        headers=community.platform,
    )
    assert first.status_code == 201
    again = client.put(
        community.url("/connections"), json={"a": "ana", "b": "bob", "weight": 3}, headers=community.platform
    )
    assert again.status_code == 200
    assert ties_of(client, community, "ana") == [{"member_id": "bob", "weight": 3.0, "kind": None}]
    assert ties_of(client, community, "bob") == [{"member_id": "ana", "weight": 3.0, "kind": None}]


def test_delete_connection_in_either_order(client: TestClient, community: CommunityKeys, members: list[str]) -> None:
    client.put(community.url("/connections"), json={"a": "ana", "b": "cy"}, headers=community.platform)
    assert client.delete(community.url("/connections/cy/ana"), headers=community.platform).status_code == 204
    assert ties_of(client, community, "ana") == []
    assert client.delete(community.url("/connections/cy/ana"), headers=community.platform).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"a": "ana", "b": "ana"}, 422, "themself"),
        ({"a": "ana", "b": "bob", "weight": -1}, 422, "weight"),
        ({"a": "ana", "b": "bob", "weight": 0}, 422, "weight"),
        # Too small to store as a 4-byte float: once a server error.
        ({"a": "ana", "b": "bob", "weight": 1e-163}, 422, "weight"),
        ({"a": "ana", "b": "ghost"}, 404, "ghost"),
        ({"a": "ana"}, 422, "b"),
        ({"a": "ana", "b": "bob", "strength": 2}, 422, "strength"),
    ],
)
def test_bad_connections_are_refused_and_change_nothing(
    client: TestClient, community: CommunityKeys, members: list[str], body: dict, status: int, words: str
) -> None:
    response = client.put(community.url("/connections"), json=body, headers=community.platform)
    assert response.status_code == status
    assert words in response.json()["detail"]
    assert ties_of(client, community, "ana") == []


def test_connections_of_unknown_member_is_404(client: TestClient, community: CommunityKeys, members: list[str]) -> None:
    response = client.get(community.url("/members/ghost/connections"), headers=community.platform)
    assert response.status_code == 404


def test_blocks_can_be_set_and_lifted(client: TestClient, community: CommunityKeys, members: list[str]) -> None:
    url = community.url("/members/ana/blocks/bob")
    assert client.put(url, headers=community.platform).status_code == 204
    assert client.put(url, headers=community.platform).status_code == 204
    assert client.delete(url, headers=community.platform).status_code == 204
    assert client.delete(url, headers=community.platform).status_code == 404


def test_blocking_yourself_or_a_stranger_is_refused(
    client: TestClient, community: CommunityKeys, members: list[str]
) -> None:
    assert client.put(community.url("/members/ana/blocks/ana"), headers=community.platform).status_code == 422
    assert client.put(community.url("/members/ana/blocks/ghost"), headers=community.platform).status_code == 404
