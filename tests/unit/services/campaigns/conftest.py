"""Fixtures of the campaign tests: the fake Graph API over real HTTP."""

from tests.fakes.graph_api import fake_graph  # noqa: F401 - a fixture
