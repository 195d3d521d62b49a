"""Fixtures of the app tests: the sales desk's small catalog and a customer's conversation (test_wiring)."""

from tests.unit.services.sales.conftest import catalog, chat  # noqa: F401 - fixtures
