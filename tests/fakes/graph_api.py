"""The `fake_graph` fixture: a running `FakeGraphApi` (services/whatsapp/fake_graph: Meta's Graph API in memory,
over real HTTP) for one test. In a conftest: `from tests.fakes.graph_api import fake_graph  # noqa: F401`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.whatsapp.fake_graph import FakeGraphApi


@pytest.fixture
def fake_graph() -> Iterator[FakeGraphApi]:
    """A running FakeGraphApi (base_url, token, scripting and recorded requests on the object)."""
    with FakeGraphApi() as fake:
        yield fake
