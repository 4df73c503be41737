"""The COPY text encoder round-trips awkward values through a real PostgreSQL."""

from __future__ import annotations

import asyncio

import psycopg

from belonging.service.repository.copy import copy_rows, encode_row


def test_null_bool_and_numbers_use_copy_text_spelling() -> None:
    assert encode_row([None, True, False, 3, 2.5]) == "\\N\tt\tf\t3\t2.5"


def test_awkward_strings_arrays_and_json_survive_a_round_trip(database_url: str) -> None:
    row = ("tab\there", ["quote \" and \\ backslash", "new\nline", "{braces}", "NULL"], {"k": "tab\tvalue é"})

    async def load() -> tuple:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await conn.execute("CREATE TEMP TABLE t (s text, a text[], j jsonb)")
            await copy_rows(conn, "COPY t (s, a, j) FROM STDIN", [row])
            cur = await conn.execute("SELECT s, a, j FROM t")
            return await cur.fetchone()

    assert asyncio.run(load()) == row
