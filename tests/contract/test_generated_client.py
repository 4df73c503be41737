"""A client generated from the server's own ``/openapi.json`` drives a whole scenario against it.

openapi-python-client writes a typed package (one model class per schema, one module per
operation, named by operation id); every answer of the scenario must parse into its model, so
the document is complete enough for platforms to build on.
"""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, LiveServer

PACKAGE = "belonging_generated_client"
CONFIG = f"""\
package_name_override: {PACKAGE}
post_hooks: []
content_type_overrides:
  application/x-ndjson: application/octet-stream
"""


@pytest.fixture
def generated(live_server: LiveServer, tmp_path: Path) -> Iterator[ModuleType]:
    document = tmp_path / "openapi.json"
    document.write_text(httpx.get(live_server.base_url + "/openapi.json").text)
    (tmp_path / "config.yml").write_text(CONFIG)
    out = tmp_path / "generated" / PACKAGE
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document),
         "--config", str(tmp_path / "config.yml"), "--meta", "none", "--output-path", str(out)],
        capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    # Anything it had to leave out (an operation, a body, a schema) is reported as a warning.
    assert "Warning" not in run.stdout + run.stderr, run.stdout + run.stderr
    sys.path.insert(0, str(out.parent))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out.parent))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Api:
    """The generated package: ``api.call("put_member", ...)`` runs ``api/<tag>/put_member.sync_detailed``."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.models = importlib.import_module(f"{PACKAGE}.models")
        self.types = importlib.import_module(f"{PACKAGE}.types")
        self.base_url = base_url
        self.operations: dict[str, ModuleType] = {}
        for tag in (Path(package.__file__).parent / "api").iterdir():  # type: ignore[arg-type]
            if tag.is_dir() and not tag.name.startswith("__"):
                for module in tag.glob("*.py"):
                    if module.stem != "__init__":
                        self.operations[module.stem] = importlib.import_module(
                            f"{PACKAGE}.api.{tag.name}.{module.stem}")

    def client(self, token: str | None) -> Any:
        if token is None:
            return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)
        return self.package.AuthenticatedClient(base_url=self.base_url, token=token, raise_on_unexpected_status=True)

    def call(self, operation: str, client: Any, status: int, model: str, **kwargs: Any) -> Any:
        """Run ``operation``; its answer must have ``status`` and parse into the generated ``model``."""
        response = self.operations[operation].sync_detailed(client=client, **kwargs)
        assert response.status_code == status, (operation, response.status_code, response.content[:500])
        expected = getattr(self.models, model)
        assert isinstance(response.parsed, expected), (operation, type(response.parsed), response.content[:500])
        return response.parsed

    def call_empty(self, operation: str, client: Any, **kwargs: Any) -> None:
        response = self.operations[operation].sync_detailed(client=client, **kwargs)
        assert response.status_code == 204, (operation, response.status_code, response.content[:500])

    def body(self, model: str, data: dict[str, Any]) -> Any:
        return getattr(self.models, model).from_dict(data)

    def ndjson(self, lines: list[dict[str, Any]]) -> Any:
        return self.types.File(payload=io.BytesIO("\n".join(json.dumps(line) for line in lines).encode()))


PEOPLE = {
    "ana": {"interests": ["hiking", "chess"], "needs": ["grief"], "attributes": {"cohort": "2024"}},
    "ben": {"interests": ["hiking"], "needs": ["grief"], "attributes": {"cohort": "2024"}},
    "cy": {"interests": ["chess"], "offers": ["cv writing"], "attributes": {"cohort": "2024"}},
    "dee": {"interests": ["chess"], "needs": ["grief"], "attributes": {"cohort": "2024"}},
    "eli": {"interests": ["gardening"], "needs": ["cv writing"], "attributes": {"cohort": "2024"}},
}
IMPORTED = [{"member_id": f"m{i}", "interests": ["gardening" if i % 2 else "hiking"], "needs": ["grief"],
             "attributes": {"cohort": "2025"}, "belonging_score": 1 + i % 5} for i in range(8)]


def test_a_generated_client_drives_a_whole_scenario(generated: ModuleType, live_server: LiveServer) -> None:
    api = Api(generated, live_server.base_url)
    slug = "generated"

    assert api.call("get_health", api.client(None), 200, "Health").status == "ok"
    assert api.call("get_readiness", api.client(None), 200, "Readiness").database == "ok"

    admin = api.client(ADMIN_TOKEN)
    created = api.call("create_community", admin, 201, "CommunityCreated",
                       body=api.body("CommunityIn", {"slug": slug, "name": "Generated"}))
    platform, organiser = api.client(created.platform_key), api.client(created.organiser_key)
    api.call("create_community", admin, 409, "Problem", body=api.body("CommunityIn", {"slug": slug, "name": "Again"}))

    # Members and ties, one at a time and in bulk.
    for member_id, profile in PEOPLE.items():
        member = api.call("put_member", platform, 201, "Member", slug=slug, member_id=member_id,
                          body=api.body("MemberIn", profile))
        assert member.member_id == member_id
    api.call("put_member", platform, 200, "Member", slug=slug, member_id="ana",
             body=api.body("MemberIn", PEOPLE["ana"]))
    imported = api.call("import_members", platform, 200, "ImportResult", slug=slug, body=api.ndjson(IMPORTED))
    assert imported.created == len(IMPORTED)
    page = api.call("list_members", platform, 200, "MemberPage", slug=slug, limit=5)
    assert len(page.members) == 5 and isinstance(page.next_cursor, str)
    assert api.call("get_member", platform, 200, "Member", slug=slug, member_id="cy").offers == ["cv writing"]
    problem = api.call("get_member", platform, 404, "Problem", slug=slug, member_id="ghost")
    assert problem.status == 404 and "ghost" in problem.detail
    refused = api.call("get_member", organiser, 403, "Problem", slug=slug, member_id="cy")
    assert refused.status == 403

    api.call("put_connection", platform, 201, "Connection", slug=slug,
             body=api.body("ConnectionIn", {"a": "ana", "b": "ben"}))
    api.call("put_connection", platform, 200, "Connection", slug=slug,
             body=api.body("ConnectionIn", {"a": "ben", "b": "ana", "weight": 2, "kind": "friend"}))
    ties = [{"a": f"m{i}", "b": f"m{i + 1}"} for i in range(0, 7, 2)] + [{"a": "cy", "b": "dee"}]
    assert api.call("import_connections", platform, 200, "ImportResult", slug=slug, body=api.ndjson(ties)).lines == 5
    bad_line = api.call("import_connections", platform, 422, "Problem", slug=slug,
                        body=api.ndjson([{"a": "ana", "b": "ana"}]))
    assert bad_line.errors[0].line == 1
    connections = api.call("list_connections", platform, 200, "MemberConnections", slug=slug, member_id="ana")
    assert [(c.member_id, c.weight, c.kind) for c in connections.connections] == [("ben", 2.0, "friend")]
    api.call_empty("put_block", platform, slug=slug, member_id="eli", other_id="dee")

    # Suggestions and feedback.
    suggestions = api.call("get_suggestions", platform, 200, "Suggestions", slug=slug, member_id="eli", limit=5)
    assert suggestions.suggestions and all(s.member_id != "dee" for s in suggestions.suggestions)
    assert all(isinstance(r, api.models.Reason) for s in suggestions.suggestions for r in s.reasons)
    chosen = suggestions.suggestions[0]
    feedback = api.call("send_feedback", platform, 200, "Feedback", slug=slug, suggestion_id=chosen.suggestion_id,
                        body=api.body("FeedbackIn", {"outcome": "accepted"}))
    assert feedback.connection_created is True
    api.call("send_feedback", platform, 409, "Problem", slug=slug, suggestion_id=chosen.suggestion_id,
             body=api.body("FeedbackIn", {"outcome": "declined"}))

    # Settings, groups and a placement an organiser reviews and applies.
    settings = api.call("patch_settings", organiser, 200, "CommunitySettings", slug=slug,
                        body=api.body("CommunitySettingsPatch", {"report_min_group_size": 3}))
    assert settings.report_min_group_size == 3
    grief = api.call("create_group", organiser, 201, "SupportGroup", slug=slug, body=api.body(
        "GroupIn", {"name": "Grief circle", "topics": ["grief"], "capacity": 4, "format": "online"}))
    api.call("create_group", organiser, 201, "SupportGroup", slug=slug, body=api.body(
        "GroupIn", {"name": "Grief walk", "topics": ["grief"], "capacity": 3, "format": "in_person"}))
    assert len(api.call("list_groups", organiser, 200, "SupportGroups", slug=slug).groups) == 2
    assert api.call("get_group", organiser, 200, "SupportGroup", slug=slug, group_id=grief.group_id).seats_free == 4
    ranked = api.call("get_group_suggestions", platform, 200, "GroupSuggestions", slug=slug, member_id="ana")
    assert ranked.groups and isinstance(ranked.groups[0].reasons[0], api.models.Reason)

    placement = api.call("create_placement", organiser, 201, "Placement", slug=slug,
                         body=api.body("PlacementIn", {"explain": True}))
    assert placement.assignments and placement.unplaced
    assert all(isinstance(c, api.models.Candidate) for a in placement.assignments for c in a.candidates)
    assert isinstance(placement.solver, api.models.SolverStats)
    stored = api.call("get_placement", organiser, 200, "StoredPlacement", slug=slug,
                      placement_id=placement.placement_id)
    assert stored.applied_at is None and len(stored.assignments) == len(placement.assignments)
    applied = api.call("apply_placement", organiser, 200, "AppliedPlacement", slug=slug,
                       placement_id=placement.placement_id)
    assert applied.applied == len(placement.assignments)
    again = api.call("apply_placement", organiser, 409, "Problem", slug=slug, placement_id=placement.placement_id)
    assert "already" in again.detail

    # Reports: the report, a snapshot, its history, a what-if.
    report = api.call("get_silo_report", organiser, 200, "SiloReport", slug=slug, attribute=["cohort"],
                      include="members")
    assert report.members == len(PEOPLE) + len(IMPORTED)
    assert isinstance(report.components, api.models.Components)
    assert report.communities.members.additional_properties["ana"] >= 0
    assert isinstance(report.attributes.additional_properties["cohort"], api.models.AttributeSection)
    assert isinstance(report.belonging, api.models.Belonging)
    assert all(isinstance(m, api.models.AtRiskMember) for m in report.at_risk)
    assert isinstance(api.call("get_silo_report", organiser, 200, "SiloReport", slug=slug).communities.members,
                      api.types.Unset)
    api.call("get_silo_report", organiser, 422, "Problem", slug=slug, attribute=["shoe_size"])
    point = api.call("create_snapshot", organiser, 201, "SnapshotPoint", slug=slug)
    history = api.call("get_silo_history", organiser, 200, "SiloHistory", slug=slug)
    assert [s.snapshot_id for s in history.snapshots] == [point.snapshot_id]
    what_if = api.call("what_if", organiser, 200, "WhatIf", slug=slug, body=api.body(
        "WhatIfIn", {"ties": [{"a": "eli", "b": "m0"}], "accept_top_suggestions": 2, "attributes": ["cohort"]}))
    assert isinstance(what_if.before, api.models.SiloNumbers) and isinstance(what_if.after, api.models.SiloNumbers)
    assert isinstance(what_if.deltas.additional_properties["isolates.count"], api.models.Delta)

    # Erasure, and a key that opens nothing.
    api.call_empty("delete_member", platform, slug=slug, member_id="eli")
    api.call("get_member", platform, 404, "Problem", slug=slug, member_id="eli")
    api.call("list_members", api.client("not-a-key"), 401, "Problem", slug=slug)
