"""The ``belonging`` command: serve, migrate, demo, import, create-community, rotate-key."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from tqdm import tqdm

from belonging.service import auth, imports, keys, logs
from belonging.service.config import Settings
from belonging.service.database import EmbeddedPostgres, MigrationsMissing, layout, migrate, resolve_database_url
from belonging.service.demo_data import generate_demo_community
from belonging.service.errors import ApiError
from belonging.service.repository import communities, groups

DEMO_SLUG = "demo"
LIST_COLUMNS = ("interests", "needs", "offers", "private_needs", "formats", "languages")


class Database:
    """The configured database for one CLI command: started (if embedded) and migrated."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._embedded: EmbeddedPostgres | None = None
        self.url = ""

    def __enter__(self) -> Database:
        self.url, self._embedded = resolve_database_url(self.settings)
        migrate(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._embedded is not None:
            self._embedded.stop()


async def _community_id(conn: psycopg.AsyncConnection, slug: str) -> int:
    community = await communities.by_slug(conn, slug)
    if community is None:
        raise SystemExit(f"community {slug!r} does not exist; create it with 'belonging create-community'")
    return community.community_id


# --- demo ---------------------------------------------------------------------------------------

def _demo_keys_file(settings: Settings) -> Path:
    return settings.data_dir / "demo_keys.json"


async def _load_demo(url: str, settings: Settings) -> dict[str, str] | None:
    """Create the demo community unless it exists. Returns its keys when it was created now."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        if await communities.by_slug(conn, DEMO_SLUG) is not None:
            return None
        demo = generate_demo_community()
        platform, organiser = auth.issue_key("platform"), auth.issue_key("organiser")
        community = await communities.create(conn, DEMO_SLUG, "Demo neighbourhood network", [platform, organiser])
        members_body = "\n".join(json.dumps(m) for m in demo.members).encode()
        await imports.import_members(conn, community.community_id, members_body)
        ties_body = "\n".join(json.dumps(c) for c in demo.connections).encode()
        await imports.import_connections(conn, community.community_id, ties_body)
        for group in demo.groups:
            await groups.create(conn, community.community_id, group)
        await conn.commit()
    keys = {"slug": DEMO_SLUG, "platform_key": platform.token, "organiser_key": organiser.token}
    path = _demo_keys_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(keys, indent=2) + "\n")
    return keys


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    with Database(settings) as db:
        keys = asyncio.run(_load_demo(db.url, settings))
    if keys is None:
        print(f"The demo community '{DEMO_SLUG}' already exists.")
    else:
        print(f"Created the demo community '{DEMO_SLUG}'. Its keys are kept in {_demo_keys_file(settings)}.")


# --- serve --------------------------------------------------------------------------------------

def startup_lines(settings: Settings, base: str, new_demo_keys: dict[str, str] | None = None) -> list[str]:
    """What ``serve`` prints. Secrets appear only when they were generated now, never on a later start.

    A token from ``BELONGING_ADMIN_TOKEN`` is the operator's own and is never printed; a generated
    one is printed the first time (and kept, mode 0600, in the data folder); after that the lines
    say where it is kept. The demo community's keys follow the same rule.
    """
    lines = [f"Belonging is starting on {base}", f"  API docs:     {base}/docs"]
    if settings.admin_token:
        lines.append("  Admin token:  from BELONGING_ADMIN_TOKEN")
    else:
        token, created = auth.load_or_create_admin_token(settings.admin_token_file)
        if created:
            lines.append(f"  Admin token:  {token}  (shown this once; kept in {settings.admin_token_file})")
        else:
            lines.append(f"  Admin token:  kept in {settings.admin_token_file}")
    if new_demo_keys is not None:
        slug = new_demo_keys["slug"]
        lines.append(f"  Dashboard:    {base}/dashboard/{slug}  (organiser key: {new_demo_keys['organiser_key']})")
        lines.append(f"  Platform key of '{slug}': {new_demo_keys['platform_key']}  (shown this once; kept in "
                     f"{_demo_keys_file(settings)})")
    elif _demo_keys_file(settings).exists():
        slug = json.loads(_demo_keys_file(settings).read_text())["slug"]
        lines.append(f"  Dashboard:    {base}/dashboard/{slug}  (its keys are kept in {_demo_keys_file(settings)})")
    return lines


def worker_count(asked: str) -> int:
    """``--workers``: a number of processes, or ``auto`` for one per CPU core."""
    if asked == "auto":
        return max(1, os.cpu_count() or 1)
    if not asked.isdigit() or int(asked) < 1:
        raise SystemExit(f"--workers must be a positive number or 'auto', not {asked!r}")
    return int(asked)


def share_metrics(settings: Settings, workers: int) -> None:
    """With several workers, their metrics meet in one folder that any worker's ``/metrics`` adds
    up: ``PROMETHEUS_MULTIPROC_DIR`` when the operator names one, else ``metrics`` in the data
    folder, emptied here (samples of an earlier run would be added in). Set before the workers start."""
    if workers <= 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = (Path(settings.data_dir) / "metrics").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    workers = worker_count(args.workers or settings.workers)
    new_demo_keys = None
    # The database is started (if embedded) and migrated once, here; every worker process then
    # builds its app from the environment (DATABASE_URL names the database found here).
    with Database(settings) as db:
        if args.demo:
            new_demo_keys = asyncio.run(_load_demo(db.url, settings))
        for line in startup_lines(settings, f"http://{args.host}:{args.port}", new_demo_keys):
            print(line)
        if workers > 1:
            print(f"  Workers:      {workers}")
        sys.stdout.flush()
        os.environ["DATABASE_URL"] = db.url
        share_metrics(settings, workers)
        # With several workers uvicorn restarts one that misses a health check; a report or a
        # placement computing in a worker thread can hold the interpreter for seconds (igraph
        # keeps it), which is busy, not hung.
        uvicorn.run("belonging.service.app:create_worker_app", factory=True, host=args.host, port=args.port,
                    log_config=None, workers=workers, access_log=False, timeout_worker_healthcheck=120)


# --- migrate ------------------------------------------------------------------------------------

def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    url, embedded = resolve_database_url(settings)
    try:
        applied = migrate(url)
        mode = layout(url).describe()
    finally:
        if embedded is not None:
            embedded.stop()
    print("Applied: " + ", ".join(applied) if applied else "The database is up to date.")
    print("Mode: " + mode)


# --- create-community ---------------------------------------------------------------------------

async def _create_community(url: str, slug: str, name: str) -> dict[str, str]:
    platform, organiser = auth.issue_key("platform"), auth.issue_key("organiser")
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await communities.create(conn, slug, name, [platform, organiser])
        await conn.commit()
    return {"slug": slug, "name": name, "platform_key": platform.token, "organiser_key": organiser.token}


def cmd_create_community(settings: Settings, args: argparse.Namespace) -> None:
    with Database(settings) as db:
        try:
            created = asyncio.run(_create_community(db.url, args.slug, args.name or args.slug))
        except ApiError as exc:
            raise SystemExit(exc.detail) from None
    print(json.dumps(created, indent=2))
    print("The keys are shown only this once.", file=sys.stderr)


# --- rotate-key ---------------------------------------------------------------------------------

async def _rotate_key(url: str, slug: str, role: str, grace_seconds: int) -> dict[str, str]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        community_id = await _community_id(conn, slug)
        rotated = await keys.rotate(conn, community_id, role, grace_seconds)
        await conn.commit()
    return {"role": rotated.role, "key": rotated.key,
            "previous_key_valid_until": rotated.previous_key_valid_until.isoformat()}


def cmd_rotate_key(settings: Settings, args: argparse.Namespace) -> None:
    if not 0 <= args.grace_seconds <= keys.MAX_GRACE_SECONDS:
        raise SystemExit(f"--grace-seconds must lie between 0 and {keys.MAX_GRACE_SECONDS} (a week)")
    with Database(settings) as db:
        rotated = asyncio.run(_rotate_key(db.url, args.slug, args.role, args.grace_seconds))
    print(json.dumps(rotated, indent=2))
    print("The new key is shown only this once.", file=sys.stderr)


# --- import -------------------------------------------------------------------------------------

def _csv_member(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as a profile: list columns split on ';', ``attr:NAME`` columns become attributes."""
    profile: dict[str, Any] = {"member_id": row.get("member_id", "")}
    attributes: dict[str, str] = {}
    for column, value in row.items():
        if column is None or value is None or value == "" or column == "member_id":
            continue
        if column.startswith("attr:"):
            attributes[column[5:]] = value
        elif column in LIST_COLUMNS:
            profile[column] = [v for v in value.split(";") if v.strip()]
        elif column == "open_to_suggestions":
            profile[column] = value.strip().lower() in ("1", "true", "yes")
        elif column == "belonging_score":
            profile[column] = int(value) if value.strip().isdigit() else value
        else:
            profile[column] = value
    if attributes:
        profile["attributes"] = attributes
    return profile


def _csv_connection(row: dict[str, str]) -> dict[str, Any]:
    tie: dict[str, Any] = {"a": row.get("a", ""), "b": row.get("b", "")}
    if row.get("weight"):
        try:
            tie["weight"] = float(row["weight"])
        except ValueError:
            tie["weight"] = row["weight"]
    if row.get("kind"):
        tie["kind"] = row["kind"]
    return tie


def _as_ndjson(path: Path, kind: str) -> bytes:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() != ".csv":
        return text.encode()
    convert = _csv_member if kind == "members" else _csv_connection
    lines: Iterator[str] = (json.dumps(convert(row)) for row in csv.DictReader(io.StringIO(text)))
    return "\n".join(lines).encode()


async def _import(url: str, slug: str, kind: str, body: bytes) -> dict[str, int]:
    total = body.count(b"\n") + 1
    with tqdm(total=total, unit=" lines", desc=f"validating {kind}", disable=total < 50_000,
              file=sys.stderr) as bar:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            community_id = await _community_id(conn, slug)
            load = imports.import_members if kind == "members" else imports.import_connections
            result = await load(conn, community_id, body, bar.update)
            await conn.commit()
    return result


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    body = _as_ndjson(Path(args.file), args.kind)
    with Database(settings) as db:
        try:
            result = asyncio.run(_import(db.url, args.community, args.kind, body))
        except ApiError as exc:
            print(exc.detail, file=sys.stderr)
            for error in exc.extra.get("errors", [])[:20]:
                print(f"  line {error['line']}: {error['message']}", file=sys.stderr)
            raise SystemExit(1) from None
    print(f"Imported {result['lines']} {args.kind} lines: {result['created']} created, "
          f"{result['updated']} updated.")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="belonging", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API and dashboard")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="load the demo community first if it is missing")
    serve.add_argument("--workers", help="worker processes, each serving every community, or 'auto' for one "
                                         "per CPU core (default: BELONGING_WORKERS, else 1)")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load the demo community").set_defaults(func=cmd_demo)

    create = sub.add_parser("create-community", help="create a community and print its keys")
    create.add_argument("slug")
    create.add_argument("--name")
    create.set_defaults(func=cmd_create_community)

    rotate = sub.add_parser("rotate-key", help="replace a community's platform or organiser key and print the new one")
    rotate.add_argument("slug")
    rotate.add_argument("--role", required=True, choices=["platform", "organiser"])
    rotate.add_argument("--grace-seconds", type=int, default=0,
                        help="how long the previous key keeps working (default 0: it stops now)")
    rotate.set_defaults(func=cmd_rotate_key)

    load = sub.add_parser("import", help="import members or connections from NDJSON or CSV")
    load.add_argument("kind", choices=["members", "connections"])
    load.add_argument("file", help="NDJSON (one object per line) or .csv")
    load.add_argument("--community", required=True, help="the community's slug")
    load.set_defaults(func=cmd_import)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_level)
    try:
        args.func(settings, args)
    except MigrationsMissing as error:
        sys.exit(f"belonging: {error}")


if __name__ == "__main__":
    main()
