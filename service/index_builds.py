"""Building a community's suggestion index into files: claimed, written aside, renamed into place.

Layout, under ``<BELONGING_DATA_DIR>/indexes/<community_id>/``:

* ``r<revision>-<nanoseconds>/``: one complete build (see :mod:`matching.stored`), whose index
  files never change; the newest name (revision first, zero-padded) is the one to serve. Beside
  the index's files, a build holds the dashboard's first view at its revision
  (:mod:`service.stored_reports`), unless computing it failed (the build then goes without it).
  The builder computes it after the index is in place, so suggestions never wait for a report,
  and puts it in the folder by an atomic replace: readers see it whole or not at all;
* ``.building-<pid>-<random>/``: a build being written. It becomes visible only by an atomic
  ``rename`` once every file is written and synced, so a builder killed half-way leaves a
  hidden folder that no reader ever opens (the next builder removes it) and the previous build
  in place.

One process per machine builds a community at a time: it holds a session-level PostgreSQL
advisory lock named by the machine and the data folder (``locks.try_index_build``); the others
keep serving the build they have. The builder also removes old builds: all but the newest
``KEEP_BUILDS``, once older than ``OLD_BUILD_SECONDS``. A process still mapping a removed build
keeps reading it (the kernel frees unlinked files when their last mapping goes), and every
process moves to the newest build within a second of its next request.

The service forks a process per build (:func:`start_build_process`), so that a build's seconds of
CPU never hold a serving process's event loop and its peak memory leaves with it. Operators can
build ahead of traffic with ``python -m belonging.service.index_builds <community_id>``: exit
status 0 when it built, 3 when another process holds the claim.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from belonging.matching import stored
from belonging.service import impact, logs, stored_reports
from belonging.service.config import Settings
from belonging.service.indexes import CommunityModel
from belonging.service.repository import changes, locks, snapshot
from belonging.service.repository import impact as impact_repository
from belonging.service.repository import reports as report_repository
from belonging.service.schemas import CommunitySettings

log = logging.getLogger("belonging.index_builds")

KEEP_BUILDS = 2
"""Builds kept per community however old: the newest and the one before it."""
OLD_BUILD_SECONDS = 300
"""Older builds are removed once this old (a process picks up a new build within a second)."""
SERVE_BUILDS_FOR_DAYS = 6
"""Builds older than this are never served: the change rows an overlay needs may be gone."""
CHANGES_KEPT_DAYS = 7
"""Change rows (``community_changes``) older than this are removed by the next build."""
CLAIMED_ELSEWHERE = 3
"""Exit status of the build command when another process is building the community."""

_BUILD_NAME = re.compile(r"^r(\d{12})-(\d+)$")


@dataclass(frozen=True)
class Build:
    """One complete build on disk."""

    folder: Path
    revision: int
    written_ns: int

    @property
    def age_seconds(self) -> float:
        return (time.time_ns() - self.written_ns) / 1e9


def community_folder(root: Path, community_id: int) -> Path:
    return root / str(community_id)


def builds(root: Path, community_id: int) -> list[Build]:
    """Complete builds of the community, newest first."""
    folder = community_folder(root, community_id)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = _BUILD_NAME.match(name)
        if match:
            found.append(Build(folder / name, int(match[1]), int(match[2])))
    return sorted(found, key=lambda b: (b.revision, b.written_ns), reverse=True)


def newest(root: Path, community_id: int) -> Build | None:
    found = builds(root, community_id)
    return found[0] if found else None


def machine_name(root: Path) -> str:
    """Who builds for this data folder: one builder per machine and folder."""
    return f"{socket.gethostname()}:{root.resolve()}"


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write(
    root: Path, community_id: int, data: snapshot.CommunitySnapshot,
    report_settings: CommunitySettings | None = None, read_at: datetime | None = None,
    figures: stored_reports.Impact | None = None,
) -> tuple[Build, int]:
    """Build the index from ``data`` and put it in place. Returns the build and its size in bytes.

    With ``report_settings``, the build then also gets the dashboard's first view of ``data``
    (read at ``read_at``) computed with them, and the "Is it working?" ``figures`` read with it,
    unless that fails: then it is logged and left out. Serving processes use the index as soon
    as it is in place, before the report is written.
    """
    model = CommunityModel.from_snapshot(data)
    index = model.suggestion_index()
    parent = community_folder(root, community_id)
    parent.mkdir(parents=True, exist_ok=True)
    temporary = parent / f".building-{os.getpid()}-{secrets.token_hex(4)}"
    size = stored.save(index, temporary)
    for path in temporary.iterdir():
        with path.open("rb") as written:
            os.fsync(written.fileno())
    _sync_folder(temporary)
    written_ns = time.time_ns()
    final = parent / f"r{data.revision:012d}-{written_ns}"
    os.rename(temporary, final)
    _sync_folder(parent)
    if report_settings is not None:
        size += _write_report(final, community_id, model, report_settings, read_at or datetime.now(UTC), figures)
    return Build(final, data.revision, written_ns), size


def _write_report(
    folder: Path, community_id: int, model: CommunityModel, settings: CommunitySettings, read_at: datetime,
    figures: stored_reports.Impact | None,
) -> int:
    """Store the dashboard's first view in the build ``folder``; 0 bytes when it failed (logged)."""
    started = time.perf_counter()
    try:
        size = stored_reports.write(folder, stored_reports.compute(model, settings, read_at, figures))
    except Exception:
        # The index serves suggestions without it; the dashboard then computes the report itself.
        log.exception("dashboard report not stored with the build", extra={"community_id": community_id})
        return 0
    log.info("dashboard report stored with the build", extra={
        "community_id": community_id, "bytes": size, "seconds": round(time.perf_counter() - started, 3)})
    return size


async def _impact(
    conn: psycopg.AsyncConnection, community_id: int, settings: CommunitySettings, read_at: datetime
) -> stored_reports.Impact | None:
    """The dashboard's default "Is it working?" window, read for the stored report; None when that fails."""
    try:
        since, until = impact.window(None, None, read_at.date())
        k = settings.report_min_group_size
        attributes = await impact_repository.attribute_names(conn, community_id)
        figures = await impact.report(conn, community_id, since, until, attributes, k)
        weeks = await impact.weekly(conn, community_id, since, until)
    except Exception:
        log.exception("impact figures not stored with the build", extra={"community_id": community_id})
        return None
    return stored_reports.Impact(since, until, k, figures, weeks)


def remove_old(root: Path, community_id: int) -> None:
    """Remove abandoned temporary folders and builds past the newest ``KEEP_BUILDS`` once old.

    Call only while holding the community's build claim: then no temporary folder is in use.
    """
    parent = community_folder(root, community_id)
    for path in parent.glob(".building-*"):
        shutil.rmtree(path, ignore_errors=True)
    for build in builds(root, community_id)[KEEP_BUILDS:]:
        if build.age_seconds > OLD_BUILD_SECONDS:
            shutil.rmtree(build.folder, ignore_errors=True)


async def build(database_url: str, root: Path, community_id: int) -> tuple[Build, int] | None:
    """Claim, read, build, write. None when another process on this machine holds the claim.

    The CPU-heavy part runs on the calling thread: run this in a thread or a process of its own.
    """
    started = time.perf_counter()
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        if not await locks.try_index_build(conn, machine_name(root), community_id):
            return None
        # Report settings are not versioned by the revision: the stored report names those it used.
        _, stored_settings = await report_repository.revision_and_settings(conn, community_id)
        settings = CommunitySettings.from_stored(stored_settings)
        read_at = datetime.now(UTC)
        data = await snapshot.load(conn, community_id)
        figures = await _impact(conn, community_id, settings, read_at)
        built, size = write(root, community_id, data, settings, read_at, figures)
        remove_old(root, community_id)
        await changes.forget_before(conn, community_id, CHANGES_KEPT_DAYS)
    log.info("community index written", extra={
        "community_id": community_id, "revision": built.revision, "bytes": size,
        "seconds": round(time.perf_counter() - started, 3)})
    return built, size


def build_in_this_thread(database_url: str, root: Path, community_id: int) -> tuple[Build, int] | None:
    return asyncio.run(build(database_url, root, community_id))


def start_build_process(database_url: str, root: Path, community_id: int) -> int:
    """Fork a process that builds the community and exits; returns its pid.

    Its exit status is 0 when it built, ``CLAIMED_ELSEWHERE`` when another process holds the
    claim, 1 when the build failed. Forked, not spawned, so it starts in milliseconds with the
    modules already imported. Call it from a thread that runs no event loop
    (``asyncio.to_thread``): the child runs only this function, on that thread, with a loop of
    its own, and leaves with ``os._exit`` so that nothing it inherited (the parent's pool
    connections) is closed or finalised from the child.
    """
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:
        # The serving process's signal handling is not the child's: a signal must not wake its loop.
        signal.set_wakeup_fd(-1)
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_DFL)
        status = 0 if build_in_this_thread(database_url, root, community_id) is not None else CLAIMED_ELSEWHERE
    except BaseException:
        log.exception("index build failed", extra={"community_id": community_id})
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(status)


def wait_for_build_process(pid: int) -> int:
    """Wait for a build process to end; its exit status (negative: the signal that ended it)."""
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        raise SystemExit("usage: python -m belonging.service.index_builds <community_id>")
    settings = Settings()
    if not settings.database_url:
        raise SystemExit("DATABASE_URL must be set")
    logs.configure(settings.log_level)
    result = build_in_this_thread(settings.database_url, settings.index_dir, int(args[0]))
    if result is None:
        raise SystemExit(CLAIMED_ELSEWHERE)


if __name__ == "__main__":
    main()
