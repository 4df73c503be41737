"""The organiser dashboard: a web page per community, opened with the organiser key.

Signing in posts the key in a form (never in a URL); the answer is a session cookie scoped to
``/dashboard/{slug}`` (see :mod:`service.dashboard.session`). Every request checks the cookie's
signature, expiry and community, and that its session is still open in the database with its
organiser key still active; signing out deletes the session.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from psycopg import AsyncConnection

from belonging.service import auth, impact, index_builds, metrics, reports, stored_reports, support_groups
from belonging.service.dashboard import session as sessions
from belonging.service.dashboard import view
from belonging.service.dashboard.view import DashboardData
from belonging.service.deps import Conn, community_for_key
from belonging.service.errors import ApiError
from belonging.service.params import SlugPath
from belonging.service.repository import dashboard_sessions, groups
from belonging.service.repository import impact as impact_repository
from belonging.service.repository import reports as report_repository
from belonging.service.repository.communities import CommunityRow
from belonging.service.schemas import CommunitySettings
from belonging.service.stored_reports import StoredDashboard

router = APIRouter(prefix="/dashboard/{slug}", tags=["dashboard"], include_in_schema=False)
templates = Jinja2Templates(directory=FilePath(__file__).resolve().parent.parent / "templates")

#: A large community's page may reuse a build this old, even if members or ties changed since:
#: its report takes seconds, and a busy platform changes the revision every few seconds.
LARGE_REUSE_S = 15 * 60
#: Communities with more ties than this count as large for the page's report (under it, the
#: report takes under a second to compute; the API's reports count as large above ``SYNC_MAX_TIES``).
LAG_MIN_TIES = 20_000
#: Communities whose latest build this process keeps; the least recently built go first.
CACHED_COMMUNITIES = 32
#: Days the "Is it working?" window may start or end on: a mistyped year gets a message.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(9999, 12, 1)
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages name members: never kept by a shared cache or the browser's back-forward store.
    "Cache-Control": "no-store",
}


@dataclass
class _Built:
    key: tuple[Any, ...]
    data: DashboardData
    #: ``time.monotonic()`` when its community was read.
    built_at: float
    #: Read from a build's folder rather than computed in this process.
    stored: bool = False


@dataclass
class DashboardCache:
    """The latest build per community in this process, and one lock per community so it is built once;
    for large communities, the "Is it working?" figures of recent windows too."""

    builds: dict[int, _Built] = field(default_factory=dict)
    locks: dict[int, asyncio.Lock] = field(default_factory=dict)
    impact: dict[tuple[int, date, date, int], tuple[float, dict[str, Any], list[impact.Week]]] = field(
        default_factory=dict)


def _cache(request: Request) -> DashboardCache:
    state = request.app.state
    cache = getattr(state, "dashboard", None)
    if cache is None:
        cache = state.dashboard = DashboardCache()
    return cache


def _signing_key(request: Request) -> bytes:
    return sessions.signing_key(request.app.state.admin_token)


def _cookie_path(slug: str) -> str:
    return f"/dashboard/{slug}"


@dataclass(frozen=True)
class _Visitor:
    community: CommunityRow | None
    had_cookie: bool


async def _visitor(request: Request, slug: str, conn: AsyncConnection) -> _Visitor:
    """Who is asking: the community, if the session cookie is valid and its key still active."""
    value = request.cookies.get(sessions.COOKIE_NAME)
    if not value:
        return _Visitor(None, False)
    session = sessions.verify(value, _signing_key(request), slug)
    if session is None:
        return _Visitor(None, True)
    return _Visitor(await dashboard_sessions.community_for_session(conn, slug, session.session_id), True)


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=SECURITY_HEADERS)


def _sign_in(request: Request, slug: str, *, status_code: int = 200, error: str | None = None,
             clear_cookie: bool = False) -> Response:
    response = _page(request, "signin.html", {"slug": slug, "error": error}, status_code)
    if clear_cookie:
        response.delete_cookie(sessions.COOKIE_NAME, path=_cookie_path(slug), httponly=True, samesite="strict")
    return response


def _same_origin(request: Request) -> bool:
    """A browser's form post from this site (or a client that sends no Origin)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


@dataclass(frozen=True)
class _Window:
    since: date
    until: date
    error: str | None = None


def _impact_window(request: Request) -> _Window:
    """The "Is it working?" window from ``?since=&until=`` (ISO dates), by default the last 30 days.

    A date that cannot be read leaves the default window and says what to write instead.
    """
    today = datetime.now(UTC).date()
    days: dict[str, date | None] = {}
    for name, label in (("since", "first"), ("until", "last")):
        text = request.query_params.get(name, "").strip()
        days[name] = None
        if not text:
            continue
        try:
            days[name] = date.fromisoformat(text)
        except ValueError:
            return _Window(*impact.window(None, None, today),
                           error=f"The {label} day is not a date: write it as YYYY-MM-DD, for example 2026-10-31.")
        if not FIRST_DAY <= days[name] <= LAST_DAY:  # type: ignore[operator]
            return _Window(*impact.window(None, None, today),
                           error=f"The {label} day must lie between {FIRST_DAY} and {LAST_DAY}.")
    since, until = impact.window(days["since"], days["until"], today)
    if since > until:
        return _Window(*impact.window(None, None, today),
                       error="The first day is after the last day: swap them.")
    return _Window(since, until)


def _may_lag(data: DashboardData) -> bool:
    """A report behind the revision may be shown for ``LARGE_REUSE_S`` when computing one takes seconds."""
    return data.report["connections"] > min(LAG_MIN_TIES, reports.SYNC_MAX_TIES)


def _stored(
    request: Request, community_id: int, settings: CommunitySettings, newer_than: int
) -> StoredDashboard | None:
    """The dashboard data stored with the newest build on this machine, if that build is past
    revision ``newer_than`` and its data fits the settings."""
    build = index_builds.newest(request.app.state.shared_indexes.root, community_id)
    if build is None or build.revision <= newer_than:
        return None
    found = stored_reports.read(build.folder)
    return found if found is not None and found.fits(settings) else None


async def _build(request: Request, community: CommunityRow) -> DashboardData:
    """The page's data: this process's latest, the newest build's stored copy, or computed now.

    A copy at the community's revision is used as it is. One behind it is used, saying when it
    was computed, while it is at most ``LARGE_REUSE_S`` old in a community where computing takes
    seconds (``_may_lag``); otherwise the community is read and the report computed here.
    """
    settings = CommunitySettings.from_stored(community.settings)
    cache = _cache(request)
    key_of = (settings.report_min_group_size, settings.bridging_weight)
    async with cache.locks.setdefault(community.community_id, asyncio.Lock()):
        built = cache.builds.get(community.community_id)
        if built is not None and built.key[1:] != key_of:
            built = None
        if built is None or built.key[0] < community.revision:
            stored = await asyncio.to_thread(_stored, request, community.community_id, settings,
                                             -1 if built is None else built.key[0])
            if stored is not None:
                age = max(0.0, (datetime.now(UTC) - stored.data.computed_at).total_seconds())
                built = _Built((stored.data.revision, *key_of), stored.data, time.monotonic() - age, stored=True)
                _keep(cache, community.community_id, built)
                _keep_impact(cache, community.community_id, stored, time.monotonic() - age)
        if built is not None:
            fresh = built.key[0] >= community.revision
            if fresh or (_may_lag(built.data) and time.monotonic() - built.built_at < LARGE_REUSE_S):
                if built.stored:
                    metrics.STORED_REPORTS_SERVED.labels("dashboard").inc()
                return built.data
        model = await request.app.state.indexes.get(community.community_id, community.revision, fresh=True)
        data = await asyncio.to_thread(view.build, model, reports.attribute_names(model),
                                       settings.report_min_group_size, settings.bridging_weight)
        _keep(cache, community.community_id, _Built((model.revision, *key_of), data, time.monotonic()))
        return data


def _keep(cache: DashboardCache, community_id: int, built: _Built) -> None:
    cache.builds[community_id] = built
    while len(cache.builds) > CACHED_COMMUNITIES:
        oldest = min(cache.builds, key=lambda cid: cache.builds[cid].built_at)
        del cache.builds[oldest]


def _keep_impact(cache: DashboardCache, community_id: int, stored: StoredDashboard, read_at: float) -> None:
    """Keep the build's "Is it working?" figures as if this process had read them when the build did."""
    figures = stored.impact
    if figures is None:
        return
    key = (community_id, figures.since, figures.until, figures.min_group_size)
    kept = cache.impact.get(key)
    if kept is None or kept[0] < read_at:
        cache.impact[key] = (read_at, figures.figures, figures.weeks)


async def _suggested_groups(
    conn: AsyncConnection, community_id: int, rows: list[view.AtRiskRow], group_rows: list[groups.SupportGroupRow]
) -> dict[str, list[view.SuggestedGroup]]:
    """Groups for the members at risk, from their profiles, blocks and ties as they are now
    (seats change every visit; only these members and the groups' members are read)."""
    found = await support_groups.fit_inputs(conn, community_id, [row.member_id for row in rows], group_rows)
    return await asyncio.to_thread(view.suggested_groups, rows, group_rows, found.profiles, found.blocks,
                                   found.degrees)


async def _impact(
    request: Request, conn: AsyncConnection, community_id: int, window: _Window, k: int, *, large: bool
) -> tuple[dict[str, Any], list[impact.Week]]:
    """The window's figures and weeks. A large community's are kept for ``LARGE_REUSE_S``: each
    reads every tie of the community once (about a second per million, more when every member
    joined in the window). A build stores the default window's (see ``_keep_impact``)."""
    key = (community_id, window.since, window.until, k)
    cache = _cache(request).impact
    kept = cache.get(key)
    if large and kept is not None and time.monotonic() - kept[0] < LARGE_REUSE_S:
        return kept[1], kept[2]
    attributes = await impact_repository.attribute_names(conn, community_id)
    effect = await impact.report(conn, community_id, window.since, window.until, attributes, k)
    weeks = await impact.weekly(conn, community_id, window.since, window.until)
    if large:
        cache[key] = (time.monotonic(), effect, weeks)
        while len(cache) > CACHED_COMMUNITIES:
            del cache[min(cache, key=lambda oldest: cache[oldest][0])]
    return effect, weeks


@router.get("")
async def dashboard(slug: SlugPath, request: Request, conn: Conn) -> Response:
    """The dashboard, or the sign-in form when there is no valid session."""
    visitor = await _visitor(request, slug, conn)
    community = visitor.community
    if community is None:
        if visitor.had_cookie:
            return _sign_in(request, slug, status_code=401, error="Your session has ended. Sign in again.",
                            clear_cookie=True)
        return _sign_in(request, slug)
    data = await _build(request, community)
    snapshots = [reports.headline(s) for s in
                 await report_repository.history(conn, community.community_id, view.HISTORY_POINTS)]
    group_rows = await groups.all_groups(conn, community.community_id) if data.at_risk else []
    rows = data.at_risk
    if group_rows:
        found = await _suggested_groups(conn, community.community_id, data.at_risk, group_rows)
        rows = [replace(row, groups=found.get(row.member_id, [])) for row in rows]
    report = data.report
    previous = snapshots[-1] if snapshots else None
    window = _impact_window(request)
    k = CommunitySettings.from_stored(community.settings).report_min_group_size
    effect, weeks = await _impact(request, conn, community.community_id, window, k, large=_may_lag(data))
    context = {
        "slug": slug,
        "community": community,
        "report": report,
        "cards": view.cards(report, previous),
        "previous": previous,
        "previous_time": view.format_time(previous["created_at"]) if previous else None,
        "picture": data.picture,
        "legend": view.community_legend(data.picture, report) if data.picture else [],
        "summary_text": view.picture_summary(data.picture, report) if data.picture else "",
        "heatmaps": view.heatmaps(report),
        "at_risk": rows,
        "at_risk_total": len(report["at_risk"]),
        "groups_offered": bool(group_rows),
        "history": snapshots,
        "series": view.history_series(snapshots),
        "format_time": view.format_time,
        "k": report["parameters"]["min_group_size"],
        "revision": data.revision,
        "live": data.revision >= community.revision,
        "from_build": data.from_build,
        "computed_at": data.computed_at,
        "saved": request.query_params.get("saved") == "1",
        "snapshot_queued": request.query_params.get("saved") == "queued",
        "window": window,
        "impact_cards": view.impact_cards(effect),
        "impact_groups": view.impact_groups(effect),
        "impact_k": k,
        "impact_large": _may_lag(data),
        "weeks": weeks,
        "week_label": view.week_label,
        "impact_series": view.impact_series(weeks),
        "impact_query": f"since={window.since}&until={window.until}",
    }
    return _page(request, "dashboard.html", context, 422 if window.error else 200)


@router.post("/login")
async def login(slug: SlugPath, request: Request, conn: Conn, key: Annotated[str, Form()] = "") -> Response:
    """Check the organiser key sent in the form and open a session."""
    if not _same_origin(request):
        return _sign_in(request, slug, status_code=403, error="Sign in from this dashboard's own page.")
    key = key.strip()
    if not key:
        return _sign_in(request, slug, status_code=401, error="Enter the community's organiser key.")
    try:
        community = await community_for_key(conn, slug, key, "organiser")
    except ApiError:
        return _sign_in(request, slug, status_code=403,
                        error="That is not an organiser key of this community. Check the key and try again.")
    parsed = auth.parse_key(key)
    assert parsed is not None  # community_for_key accepted it
    value, session = sessions.issue(slug, _signing_key(request))
    await dashboard_sessions.open_session(conn, community.community_id, session.session_id, parsed.key_id,
                                          session.expires_at)
    response = RedirectResponse(f"/dashboard/{slug}", status_code=303, headers=SECURITY_HEADERS)
    response.set_cookie(
        sessions.COOKIE_NAME, value, max_age=sessions.LIFETIME_S, path=_cookie_path(slug),
        secure=request.url.scheme == "https", httponly=True, samesite="strict",
    )
    return response


@router.post("/logout")
async def logout(slug: SlugPath, request: Request, conn: Conn) -> Response:
    """End the session on the server and clear its cookie."""
    response = RedirectResponse(f"/dashboard/{slug}", status_code=303, headers=SECURITY_HEADERS)
    if not _same_origin(request):
        return response  # another site cannot sign an organiser out
    value = request.cookies.get(sessions.COOKIE_NAME)
    session = sessions.verify(value, _signing_key(request), slug) if value else None
    if session is not None:
        await dashboard_sessions.close_session(conn, slug, session.session_id)
    response.delete_cookie(sessions.COOKIE_NAME, path=_cookie_path(slug), httponly=True, samesite="strict")
    return response


@router.post("/snapshots")
async def save_snapshot(slug: SlugPath, request: Request, conn: Conn) -> Response:
    """Store a snapshot now, as ``POST .../reports/silos/snapshots`` does, so the trend has a point for now."""
    visitor = await _visitor(request, slug, conn)
    if visitor.community is None or not _same_origin(request):
        return _sign_in(request, slug, status_code=401, error="Sign in to save a snapshot.",
                        clear_cookie=visitor.had_cookie)
    community = visitor.community
    saved = await reports.request_snapshot(conn, request.app.state.pool, request.app.state.indexes,
                                           community.community_id, community.revision,
                                           builds=request.app.state.shared_indexes.root)
    outcome = "1" if saved.point is not None else "queued"
    return RedirectResponse(f"/dashboard/{slug}?saved={outcome}#history", status_code=303,
                            headers=SECURITY_HEADERS)


def _csv(rows: list[list[object]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([[view.csv_cell(cell) for cell in row] for row in rows])
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


def _refused(slug: str) -> Response:
    return Response(f"Sign in at /dashboard/{slug} first.\n", status_code=401, media_type="text/plain",
                    headers=SECURITY_HEADERS)


@router.get("/export/at-risk.csv")
async def export_at_risk(slug: SlugPath, request: Request, conn: Conn) -> Response:
    """Every member at risk: who, why, and through whom."""
    community = (await _visitor(request, slug, conn)).community
    if community is None:
        return _refused(slug)
    data = await _build(request, community)
    rows: list[list[object]] = [["member_id", "display_name", "reason", "description", "via"]]
    for entry in data.report["at_risk"]:
        rows.append([entry["member_id"], data.names.get(entry["member_id"], ""), entry["reason"],
                     view.REASON_TEXT.get(entry["reason"], entry["reason"]), entry.get("via") or ""])
    return _csv(rows, f"{slug}-at-risk.csv")


@router.get("/export/members-by-community.csv")
async def export_members_by_community(slug: SlugPath, request: Request, conn: Conn) -> Response:
    """Every member with their detected community (1 = largest; blank for isolated members)."""
    community = (await _visitor(request, slug, conn)).community
    if community is None:
        return _refused(slug)
    data = await _build(request, community)
    isolated = set(data.report["isolates"]["member_ids"])
    rows: list[list[object]] = [["member_id", "display_name", "community", "isolated"]]
    ordered = sorted(data.report["communities"]["members"].items(),
                     key=lambda item: (item[0] in isolated, item[1], item[0]))
    for member_id, number in ordered:
        lonely = member_id in isolated
        rows.append([member_id, data.names.get(member_id, ""), "" if lonely else number + 1,
                     "yes" if lonely else "no"])
    return _csv(rows, f"{slug}-members-by-community.csv")


@router.get("/export/impact.csv")
async def export_impact(slug: SlugPath, request: Request, conn: Conn) -> Response:
    """The "Is it working?" counts week by week, over the same weeks as the page's chart."""
    community = (await _visitor(request, slug, conn)).community
    if community is None:
        return _refused(slug)
    window = _impact_window(request)
    if window.error:
        return Response(window.error + "\n", status_code=422, media_type="text/plain", headers=SECURITY_HEADERS)
    weeks = await impact.weekly(conn, community.community_id, window.since, window.until)
    return _csv(view.impact_csv_rows(weeks), f"{slug}-impact-{weeks[0].starts}-{weeks[-1].ends}.csv")
