"""The team-scoped harness of the visibility tests (``teams_see_all`` off), for the desk's access tests."""

from tests.access.test_visibility import scoped_api

__all__ = ["scoped_api"]
