"""These tests need a Citus coordinator in ``DATABASE_URL``: ``make test-citus`` starts one.

``make test`` leaves this folder out (``--ignore``); collected against anything but Citus, the
folder fails loudly rather than being skipped.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import is_citus

_url = os.environ.get("DATABASE_URL")
if not _url or not is_citus(_url):
    raise pytest.UsageError("tests/citus needs DATABASE_URL to name a Citus coordinator; run `make test-citus`")
