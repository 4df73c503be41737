"""Spreading the schema over a Citus cluster, after the migrations, when the ``citus`` extension is there.

Every table with a ``community_id`` column is distributed on it, all in one co-location group, so
that a community's rows, in every table, live on one node and a query that names one community
runs on one shard (triggers and foreign keys between them stay node-local). ``communities`` and
``api_keys``, small and read by every request before the community is known, become reference
tables (a copy on every node). On a single PostgreSQL nothing happens.

It is generic: a table that a later migration adds with a ``community_id`` column is distributed by
the next ``belonging migrate``. Citus turns a plain table that references a reference table into
a "Citus local" table, and refuses a foreign key between a distributed and a plain table, so the
foreign keys that touch the tables about to change are dropped first, the tables distributed,
and the same foreign keys added back.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

REFERENCE_TABLES = ("communities", "api_keys")
DISTRIBUTION_COLUMN = "community_id"


@dataclass(frozen=True)
class Layout:
    """How the schema lies: ``citus`` False on a single PostgreSQL (both lists then empty)."""

    citus: bool
    distributed: list[str]
    reference: list[str]

    def describe(self) -> str:
        if not self.citus:
            return "single PostgreSQL (no citus extension): tables are not distributed"
        return (f"Citus: {len(self.distributed)} tables distributed on {DISTRIBUTION_COLUMN}, co-located "
                f"({', '.join(self.distributed)}); reference tables: {', '.join(self.reference)}")


def has_citus(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')").fetchone()
    return bool(row and row[0])


def _community_tables(conn: psycopg.Connection) -> list[str]:
    """Ordinary tables of the current schema with a community_id column, in name order."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = %(column)s AND NOT a.attisdropped"
        " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY c.relname",
        {"column": DISTRIBUTION_COLUMN},
    ).fetchall()
    return [name for (name,) in rows]


def _citus_kinds(conn: psycopg.Connection) -> dict[str, str]:
    """Table name → 'distributed', 'reference' or 'local' (Citus local), for tables Citus knows."""
    rows = conn.execute(
        "SELECT c.relname, CASE WHEN p.partmethod = 'h' THEN 'distributed'"
        " WHEN p.repmodel = 't' THEN 'reference' ELSE 'local' END"
        " FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    ).fetchall()
    return dict(rows)


def layout(conn: psycopg.Connection) -> Layout:
    if not has_citus(conn):
        return Layout(False, [], [])
    kinds = _citus_kinds(conn)
    return Layout(True, sorted(t for t, kind in kinds.items() if kind == "distributed"),
                  sorted(t for t, kind in kinds.items() if kind == "reference"))


def distribute(conn: psycopg.Connection) -> list[str]:
    """Distribute or replicate every table not laid out yet; the tables changed, none on plain PostgreSQL.

    ``conn`` is in autocommit mode; the work runs in one transaction, so it happens whole or not at all.
    """
    if not has_citus(conn):
        return []
    tables = _community_tables(conn)
    kinds = _citus_kinds(conn)
    to_reference = [t for t in REFERENCE_TABLES if t in tables and kinds.get(t) != "reference"]
    to_distribute = [t for t in tables if t not in REFERENCE_TABLES and kinds.get(t) != "distributed"]
    changing = to_reference + to_distribute
    if not changing:
        return []
    anchor = next((t for t in tables if kinds.get(t) == "distributed"), None)
    with conn.transaction():
        # One connection per node for the whole transaction: DDL, then foreign keys over new shards.
        conn.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        # The write rules are triggers on community tables: on Citus they run on the shards and
        # touch only co-located shards of the same community (see migrations/20261202_01_...).
        conn.execute("SET LOCAL citus.enable_unsafe_triggers TO on")
        foreign_keys = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'f' AND (conrelid = ANY (%(tables)s::regclass[])"
            "                          OR confrelid = ANY (%(tables)s::regclass[]))"
            # Added back in the order they were created: cascades then run in the same order as on
            # a single PostgreSQL (referential actions fire in the order of their triggers).
            " ORDER BY oid",
            {"tables": changing},
        ).fetchall()
        for table, name, _ in foreign_keys:
            conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)))
        # A table Citus made "local" because it referenced a reference table is plain again once its
        # foreign keys are gone, unless it was made local on purpose: then undo that first.
        for table in to_distribute:
            if table in _citus_kinds(conn):
                conn.execute("SELECT undistribute_table(%s)", (table,))
        for table in to_distribute:
            conn.execute("SELECT create_distributed_table(%(table)s, %(column)s, colocate_with => %(with)s)",
                         {"table": table, "column": DISTRIBUTION_COLUMN, "with": anchor or "default"})
            anchor = anchor or table
        for table in to_reference:
            if table in _citus_kinds(conn):
                conn.execute("SELECT undistribute_table(%s)", (table,))
            conn.execute("SELECT create_reference_table(%s)", (table,))
        for table, name, definition in foreign_keys:
            conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)))
    return changing
