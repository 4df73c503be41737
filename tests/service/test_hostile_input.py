"""Hostile bytes on every route: never a server error, never a write.

The routes are read from the app itself, so a new route is swept without touching this file;
a new JSON body model needs a valid example below (a test says so) so that each of its string
fields is attacked in turn.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from psycopg import sql
from pydantic import ValidationError

from belonging.service.app import create_app
from belonging.service.config import Settings
from belonging.service.schemas import Strict
from tests.conftest import ADMIN, CommunityKeys, make_community

NUL = "\u0000"
SURROGATE = "\ud800"
ESCAPE = "\u001b"
HOSTILE_TEXT = {"nul": f"x{NUL}y", "surrogate": f"x{SURROGATE}y", "only nul": NUL,
                "terminal escape": f"x{ESCAPE}[31my", "delete": "x\u007fy"}
# Path segments, already percent-encoded: a NUL, bytes that would decode to a lone surrogate, and
# 36 characters of hex digits and dashes that are neither a UUID nor a member id.
HOSTILE_SEGMENTS = ["m1%00", "%00", "%ED%A0%80", "-" * 36, "-0000000-0000-0000-0000-000000000000",
                    "--aaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"]
HOSTILE_QUERY = ["%00", "x%00y", "%ED%A0%80"]
NDJSON = "application/x-ndjson"


def _encode_cursor(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


BAD_CURSORS = {
    "nul": _encode_cursor(b"\x00"),
    "member id and nul": _encode_cursor(b"m1\x00"),
    "not utf-8": _encode_cursor(b"\xff\xfe\xfd"),
    "not base64": "!!!!",
    "not a member id": _encode_cursor(b"../../etc"),
    "too long": _encode_cursor(b"a" * 250),
    "percent nul": "%00",
}


# --- the routes ----------------------------------------------------------------------------------

@dataclass
class RouteInfo:
    method: str
    path: str
    path_params: list[str]
    query_params: list[str]
    body: str | None  # "json", "form", "ndjson" or None
    body_model: str | None = None
    body_type: Any = None
    form_fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _flat(dependant: Any, kind: str) -> list[Any]:
    found = list(getattr(dependant, kind))
    for sub in dependant.dependencies:
        found += _flat(sub, kind)
    return found


def app_routes() -> list[RouteInfo]:
    """Every HTTP route the app serves, dashboard included, with what it reads from a request."""
    routes: list[RouteInfo] = []
    for context in iter_route_contexts(create_app(Settings()).routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        dependant = route.dependant
        path_params = sorted({p.name for p in _flat(dependant, "path_params")})
        query_params = sorted({p.alias for p in _flat(dependant, "query_params")})
        body_params = _flat(dependant, "body_params")
        extra = (route.openapi_extra or {}).get("requestBody", {}).get("content", {})
        body: str | None = None
        body_model = body_type = None
        form_fields: list[str] = []
        if NDJSON in extra:
            body = "ndjson"
        elif body_params and type(body_params[0].field_info).__name__ == "Form":
            body, form_fields = "form", [p.alias for p in body_params]
        elif body_params:
            body, body_type = "json", body_params[0].field_info.annotation
            body_model = getattr(body_type, "__name__", None)
        for method in sorted(route.methods):
            routes.append(RouteInfo(method, context.path or route.path, path_params, query_params, body,
                                    body_model, body_type, form_fields))
    return routes


ROUTES = app_routes()
COMMUNITY_ROUTES = [r for r in ROUTES if "{slug}" in r.path]


# --- a small community with something behind every kind of id --------------------------------------

@dataclass
class World:
    client: TestClient
    community: CommunityKeys
    database_url: str
    group_id: str
    placement_id: str
    suggestion_id: str
    round_id: str
    pair_id: str

    def path_value(self, name: str) -> str:
        return {
            "slug": self.community.slug, "member_id": "m1", "a": "m1", "b": "m2", "other_id": "m2",
            "group_id": self.group_id, "placement_id": self.placement_id,
            "suggestion_id": self.suggestion_id, "job_id": str(uuid.uuid4()),
            "round_id": self.round_id, "pair_id": self.pair_id,
        }[name]

    def url(self, route: RouteInfo, **segments: str) -> str:
        path = route.path
        for name in route.path_params:
            path = path.replace("{" + name + "}", segments.get(name) or quote(self.path_value(name), safe=""))
        return path

    def json_example(self, model: str) -> dict[str, Any] | None:
        return {
            "CommunityIn": {"slug": "lakeside", "name": "Lakeside"},
            "CommunitySettingsPatch": {"bridging_weight": 0.5},
            "MemberIn": {"display_name": "Sam", "interests": ["chess"], "needs": ["grief"], "offers": ["cv"],
                         "private_needs": ["debt"], "attributes": {"cohort": "2024"}, "formats": ["online"],
                         "languages": ["en"]},
            "ConnectionIn": {"a": "m1", "b": "m3", "weight": 2.0, "kind": "friend"},
            "FeedbackIn": {"outcome": "accepted"},
            "GroupIn": {"name": "Circle", "topics": ["grief"], "capacity": 5, "format": "online",
                        "language": "en"},
            "GroupPatch": {"name": "Circle", "topics": ["grief"], "language": "en"},
            "PlacementIn": {"member_ids": ["m1"], "group_ids": [self.group_id], "spread_attribute": "cohort",
                            "avoid_lone_attribute": "cohort"},
            "WhatIfIn": {"ties": [{"a": "m1", "b": "m3", "weight": 1.0}], "attributes": ["cohort"]},
            "KeyRotationIn": {"role": "platform", "grace_seconds": 60},
            "RoundIn": {"member_ids": ["m1", "m3"], "group_size": 2, "avoid_repeat_rounds": 4,
                        "bridging_weight": 0.5},
            "OutcomeIn": {"outcome": "met"},
        }.get(model)

    def ndjson_example(self, route: RouteInfo) -> dict[str, Any]:
        if route.path.endswith("/members/import"):
            return {"member_id": "m9", "display_name": "Nia", "interests": ["chess"], "attributes": {"cohort": "x"}}
        return {"a": "m1", "b": "m3", "kind": "friend"}

    def headers(self) -> Iterator[dict[str, str]]:
        yield self.community.platform
        yield self.community.organiser
        yield ADMIN


#: Bookkeeping any authenticated request may write (when a key was last used), not data.
BOOKKEEPING = {("api_keys", "last_used_at")}


def fingerprint(database_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a digest of every table's rows, bookkeeping columns left out."""
    with psycopg.connect(database_url) as conn:
        columns: dict[str, list[str]] = {}
        for table, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name <> 'schema_migrations' AND table_name IN (SELECT table_name FROM"
            "  information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE')"
            " ORDER BY table_name, ordinal_position").fetchall():
            if (table, column) not in BOOKKEEPING:
                columns.setdefault(table, []).append(column)
        digest = sql.SQL("SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
                         " FROM (SELECT {} FROM {}) x")
        return {t: tuple(conn.execute(digest.format(sql.SQL(", ").join(map(sql.Identifier, names)),  # type: ignore[misc]
                                                    sql.Identifier(t))).fetchone())
                for t, names in columns.items()}


@pytest.fixture
def world(settings: Settings, database_url: str) -> Iterator[World]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        community = make_community(client, "riverside")
        profiles = {"m1": {"interests": ["chess"], "needs": ["grief"], "attributes": {"cohort": "2024"}},
                    "m2": {"interests": ["chess"], "attributes": {"cohort": "2024"}},
                    "m3": {"interests": ["chess"], "offers": ["grief"], "attributes": {"cohort": "2025"}}}
        for member_id, profile in profiles.items():
            response = client.put(community.url(f"/members/{member_id}"), json=profile, headers=community.platform)
            assert response.status_code == 201, response.text
        response = client.put(community.url("/connections"), json={"a": "m1", "b": "m2"}, headers=community.platform)
        assert response.status_code == 201, response.text
        group = client.post(community.url("/groups"), headers=community.organiser,
                            json={"name": "Grief circle", "topics": ["grief"], "capacity": 5, "format": "online"})
        assert group.status_code == 201, group.text
        placement = client.post(community.url("/placements"), json={}, headers=community.organiser)
        assert placement.status_code == 201, placement.text
        suggested = client.get(community.url("/members/m1/suggestions"), headers=community.platform)
        assert suggested.status_code == 200 and suggested.json()["suggestions"], suggested.text
        round_ = client.post(community.url("/rounds"), json={"member_ids": ["m1", "m3"]}, headers=community.organiser)
        assert round_.status_code == 201 and round_.json()["pairs"], round_.text
        signed_in = client.post(f"/dashboard/{community.slug}/login", data={"key": community.organiser_key},
                                follow_redirects=False)
        assert signed_in.status_code == 303, signed_in.text
        yield World(client, community, database_url, group.json()["group_id"],
                    placement.json()["placement_id"], suggested.json()["suggestions"][0]["suggestion_id"],
                    round_.json()["round_id"], round_.json()["pairs"][0]["pair_id"])


class Sweep:
    """Sends requests and keeps every answer that was not a 4xx."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.failures: list[str] = []
        self.sent = 0

    def send(self, what: str, method: str, url: str, *, content: bytes | None = None,
             content_type: str | None = None, expect_4xx: bool = True) -> None:
        for headers in self.world.headers():
            request_headers = dict(headers)
            if content_type:
                request_headers["Content-Type"] = content_type
            response = self.world.client.request(method, url, content=content, headers=request_headers,
                                                 follow_redirects=False)
            self.sent += 1
            bad = response.status_code >= 500 or (expect_4xx and not 400 <= response.status_code < 500)
            if bad:
                self.failures.append(f"{response.status_code} {method} {url} [{what}]: {response.text[:160]}")

    def check(self, before: dict[str, tuple[int, str]]) -> None:
        after = fingerprint(self.world.database_url)
        changed = [t for t in after if after[t] != before.get(t)]
        assert self.sent
        assert not self.failures, f"{len(self.failures)} of {self.sent} answers were not 4xx:\n" + "\n".join(
            self.failures[:40])
        assert not changed, f"hostile requests wrote to {changed}"


def _json(body: Any) -> bytes:
    # ensure_ascii: a lone surrogate travels as the escape "\ud800", as an attacker would send it.
    return json.dumps(body, ensure_ascii=True).encode()


def _mutations(value: Any, hostile: str) -> Iterator[Any]:
    """Copies of ``value`` with one string leaf, one dict key or one list item made ``hostile``."""
    if isinstance(value, str):
        yield hostile
        yield value + hostile
    elif isinstance(value, dict):
        yield {**value, hostile: "x"}
        for key, item in value.items():
            yield {(hostile if k == key else k): v for k, v in value.items()}
            for changed in _mutations(item, hostile):
                yield {**value, key: changed}
    elif isinstance(value, list):
        yield [*value, hostile]
        for i, item in enumerate(value):
            for changed in _mutations(item, hostile):
                yield [*value[:i], changed, *value[i + 1:]]


# --- the sweeps ----------------------------------------------------------------------------------

def test_every_json_body_route_has_an_example_to_attack(world: World) -> None:
    missing = {str(r): r.body_model for r in ROUTES
               if r.body == "json" and world.json_example(r.body_model or "") is None}
    assert not missing, f"add a valid example body for {missing} to World.json_example"


def test_routes_are_found(world: World) -> None:
    found = {str(r) for r in ROUTES}
    assert {"PUT /v1/communities/{slug}/members/{member_id}", "POST /v1/communities/{slug}/groups",
            "GET /v1/communities/{slug}/jobs/{job_id}", "POST /dashboard/{slug}/login"} <= found


def test_hostile_path_segments_get_a_4xx_and_write_nothing(world: World) -> None:
    before = fingerprint(world.database_url)
    sweep = Sweep(world)
    for route in COMMUNITY_ROUTES:
        example = world.json_example(route.body_model or "") if route.body == "json" else None
        content = _json(example) if example is not None else None
        for name in route.path_params:
            for segment in HOSTILE_SEGMENTS:
                sweep.send(f"{name}={segment}", route.method, world.url(route, **{name: segment}), content=content,
                           content_type="application/json" if content else None)
    sweep.check(before)


def test_hostile_query_values_get_a_4xx_and_write_nothing(world: World) -> None:
    before = fingerprint(world.database_url)
    sweep = Sweep(world)
    for route in [r for r in COMMUNITY_ROUTES if r.query_params]:
        for name in route.query_params:
            values = HOSTILE_QUERY + (list(BAD_CURSORS.values()) if name == "cursor" else [])
            for value in values:
                sweep.send(f"{name}={value}", route.method, f"{world.url(route)}?{name}={value}")
    sweep.check(before)


def test_nul_and_lone_surrogates_in_json_bodies_get_a_422_and_write_nothing(world: World) -> None:
    before = fingerprint(world.database_url)
    sweep = Sweep(world)
    for route in [r for r in ROUTES if r.body == "json"]:
        example = world.json_example(route.body_model or "") or {}
        for hostile in HOSTILE_TEXT.values():
            for body in _mutations(example, hostile):
                sweep.send(f"body {str(body)[:60]}", route.method, world.url(route), content=_json(body),
                           content_type="application/json")
    sweep.check(before)


def test_nul_and_lone_surrogates_in_import_lines_get_a_422_and_write_nothing(world: World) -> None:
    before = fingerprint(world.database_url)
    sweep = Sweep(world)
    for route in [r for r in ROUTES if r.body == "ndjson"]:
        example = world.ndjson_example(route)
        for hostile in HOSTILE_TEXT.values():
            for line in _mutations(example, hostile):
                content = _json(example) + b"\n" + _json(line) + b"\n"
                sweep.send(f"line 2 {str(line)[:60]}", route.method, world.url(route), content=content,
                           content_type=NDJSON)
    sweep.check(before)


def test_nul_in_form_fields_gets_a_4xx_and_writes_nothing(world: World) -> None:
    before = fingerprint(world.database_url)
    sweep = Sweep(world)
    key = world.community.organiser_key
    for route in [r for r in ROUTES if r.body == "form"]:
        for name in route.form_fields:
            for value in (quote(key[:6]) + "%00" + quote(key[7:]), "%00", quote(key) + "%00", "bel_o_%00_x"):
                sweep.send(f"{name}={value}", route.method, world.url(route),
                           content=f"{name}={value}".encode(), content_type="application/x-www-form-urlencoded")
    sweep.check(before)


@pytest.mark.parametrize("cursor", list(BAD_CURSORS), ids=list(BAD_CURSORS))
def test_a_cursor_this_api_did_not_return_is_a_422_naming_the_cursor(world: World, cursor: str) -> None:
    response = world.client.get(f"{world.community.url('/members')}?cursor={BAD_CURSORS[cursor]}",
                                headers=world.community.platform)
    assert response.status_code == 422, response.text
    assert "cursor" in response.json()["detail"]


# --- what the answers say ------------------------------------------------------------------------

def test_every_json_body_is_a_strict_request_model() -> None:
    loose = [str(r) for r in ROUTES if r.body == "json" and not (isinstance(r.body_type, type)
                                                                  and issubclass(r.body_type, Strict))]
    assert not loose, f"request bodies must inherit Strict (unknown fields and unstorable text refused): {loose}"


class _Loose(Strict):
    note: str = ""
    tags: dict[str, list[str]] = {}


@pytest.mark.parametrize("body", [{"note": f"a{NUL}"}, {"tags": {"ok": ["fine", f"b{SURROGATE}"]}},
                                  {"tags": {f"k{NUL}": []}}])
def test_the_request_model_base_refuses_unstorable_text_in_fields_typed_plain_str(body: dict) -> None:
    with pytest.raises(ValidationError) as refused:
        _Loose.model_validate(body)
    (error,) = refused.value.errors()
    assert error["type"] == "unstorable_text"
    assert error["ctx"]["where"] in {"note", "tags.ok.1", "tags.(key)"}


def test_a_nul_or_lone_surrogate_in_a_profile_is_a_422_naming_each_field(world: World) -> None:
    body = {"interests": ["chess", f"go{NUL}"], "attributes": {"cohort": f"x{SURROGATE}"}}
    response = world.client.put(world.community.url("/members/m1"), content=_json(body),
                                headers=world.community.platform | {"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    problem = response.json()
    assert {e["field"] for e in problem["errors"]} == {"interests.1", "attributes.cohort"}
    assert "NUL" in problem["detail"] and "surrogate" in problem["detail"]


def test_control_characters_are_refused_but_tabs_and_line_breaks_are_kept(world: World) -> None:
    refused = world.client.put(world.community.url("/members/ctl"), json={"display_name": f"Ann{ESCAPE}[2J"},
                               headers=world.community.platform)
    assert refused.status_code == 422
    assert "display_name" in refused.text and "control character (\\u001b)" in refused.json()["detail"]
    kept = world.client.put(world.community.url("/members/ctl"), json={"display_name": "Ann\tLee\nSmith"},
                            headers=world.community.platform)
    assert kept.status_code in (200, 201), kept.text
    assert kept.json()["display_name"] == "Ann\tLee\nSmith"


def test_a_nul_in_an_import_line_is_a_422_naming_the_line_and_field(world: World) -> None:
    lines = [{"member_id": "n1"}, {"member_id": "n2", "needs": [f"x{NUL}"]}, {"member_id": "n3"}]
    content = b"\n".join(_json(line) for line in lines)
    response = world.client.post(world.community.url("/members/import"), content=content,
                                 headers=world.community.platform)
    assert response.status_code == 422, response.text
    assert response.json()["errors"] == [{"line": 2, "message": "needs.0: Value error, contains a NUL character "
                                                                "(\\u0000); remove it"}]


@pytest.mark.parametrize("group_id", ["-" * 36, "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa-", "f" * 36])
def test_a_group_id_that_is_not_a_uuid_is_a_422_naming_it(world: World, group_id: str) -> None:
    response = world.client.get(world.community.url(f"/groups/{group_id}"), headers=world.community.organiser)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "group_id"


def test_a_group_id_in_another_spelling_of_the_same_uuid_finds_the_group(world: World) -> None:
    spelled = world.group_id.upper().replace("-", "")
    response = world.client.get(world.community.url(f"/groups/{spelled}"), headers=world.community.organiser)
    assert response.status_code == 200 and response.json()["group_id"] == world.group_id


def test_an_unknown_but_well_formed_group_id_is_a_404(world: World) -> None:
    response = world.client.get(world.community.url(f"/groups/{uuid.uuid4()}"), headers=world.community.organiser)
    assert response.status_code == 404


# --- oversize bodies -----------------------------------------------------------------------------

def _chunked(size: int) -> Iterator[bytes]:
    """``size`` bytes sent in chunks, so the request carries no Content-Length."""
    chunk = b"[" + b"1," * 8191 + b"1]"
    sent = 0
    while sent < size:
        yield chunk
        sent += len(chunk)


def _limit(world: World, route: RouteInfo) -> int:
    settings = world.client.app.state.settings  # type: ignore[attr-defined]
    return settings.max_import_bytes if route.body == "ndjson" else settings.max_body_bytes


BODY_ROUTES = [r for r in ROUTES if r.body]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[str(r) for r in BODY_ROUTES])
def test_an_oversize_chunked_body_is_a_413_problem_and_writes_nothing(world: World, route: RouteInfo) -> None:
    before = fingerprint(world.database_url)
    size = _limit(world, route) + 1
    headers = {"Content-Type": {"json": "application/json", "ndjson": NDJSON,
                                "form": "application/x-www-form-urlencoded"}[route.body or "json"]}
    statuses = set()
    for key in world.headers():
        response = world.client.request(route.method, world.url(route), content=_chunked(size),
                                        headers=key | headers, follow_redirects=False)
        assert "content-length" not in response.request.headers
        statuses.add(response.status_code)
        assert response.status_code < 500, response.text
        if response.status_code == 413:
            assert response.headers["content-type"] == "application/problem+json"
            assert str(_limit(world, route)) in response.json()["detail"]
    # The key the route needs is among those sent: past authentication the body is read and refused.
    assert 413 in statuses
    assert statuses <= {401, 403, 413}
    assert fingerprint(world.database_url) == before


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[str(r) for r in BODY_ROUTES])
def test_an_oversize_body_with_its_length_declared_is_a_413(world: World, route: RouteInfo) -> None:
    size = _limit(world, route) + 1
    response = world.client.request(route.method, world.url(route), content=b" " * size,
                                    headers=world.community.organiser, follow_redirects=False)
    assert response.status_code == 413


# --- reads -----------------------------------------------------------------------------------------

#: GET routes that write by design, and why.
WRITING_READS = {
    "GET /v1/communities/{slug}/members/{member_id}/suggestions":
        "records what was shown, for exposure caps and feedback",
}


def test_reads_write_nothing(world: World) -> None:
    before = fingerprint(world.database_url)
    reads = [r for r in ROUTES if r.method == "GET" and "{slug}" in r.path and str(r) not in WRITING_READS]
    assert any(r.path.endswith("/reports/silos") for r in reads)
    for route in reads:
        for headers in world.headers():
            response = world.client.get(world.url(route), headers=headers)
            assert response.status_code < 500, f"{route}: {response.text[:200]}"
    assert fingerprint(world.database_url) == before
