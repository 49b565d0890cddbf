"""The console harness and the team-scoped API harness, shared with the tests of private incidents."""

from __future__ import annotations

from tests.access.test_visibility import scoped_api  # noqa: F401 (a fixture)
from tests.web.conftest import console, password_hash  # noqa: F401 (fixtures)
