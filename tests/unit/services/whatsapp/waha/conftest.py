"""Fixtures of the WAHA contract tests: the fake WAHA over real HTTP, a real webhook receiver on 127.0.0.1, and the
docs' example payloads (fixtures/*.json, each with the waha-docs file it was copied from)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.whatsapp.waha import WahaClient
from services.whatsapp.waha.fake_server import FakeWahaApi

FIXTURES = Path(__file__).parent / 'fixtures'


def docs_example(name: str) -> dict[str, Any]:
    """The webhook body of fixtures/{name}.json (copied from waha-docs; its `source` says where)."""
    return json.loads((FIXTURES / f'{name}.json').read_text())['body']


@dataclass(frozen=True)
class ReceivedPost:
    path: str
    headers: dict[str, str]  # lower-case names
    raw: bytes

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.raw)

    @property
    def event(self) -> str:
        return str(self.body['event'])


class WebhookReceiver:
    """A real HTTP server on 127.0.0.1 that answers 200 to every POST and keeps it."""

    def __init__(self) -> None:
        self._posts: list[ReceivedPost] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get('Content-Length', '0')))
                post = ReceivedPost(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                with receiver._arrived:
                    receiver._posts.append(post)
                    receiver._arrived.notify_all()
                self.send_response(200)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return None

        self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(0.02), name='webhook-receiver', daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self._server.server_address[1]}/webhooks/waha'

    @property
    def posts(self) -> list[ReceivedPost]:
        with self._arrived:
            return list(self._posts)

    def wait_for(self, predicate: Callable[[list[ReceivedPost]], bool], *, seconds: float = 5.0) -> list[ReceivedPost]:
        """Block until `predicate(posts)` holds (the fake posts from its own thread)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: predicate(self._posts), timeout=seconds):
                raise AssertionError(f'webhooks received: {[p.event for p in self._posts]}')
            return list(self._posts)

    def wait_for_events(self, *events: str, seconds: float = 5.0) -> list[ReceivedPost]:
        """Block until `events` arrived in this order (other events may come between); returns those posts."""

        def found(posts: list[ReceivedPost]) -> list[ReceivedPost] | None:
            matched: list[ReceivedPost] = []
            for post in posts:
                if len(matched) < len(events) and post.event == events[len(matched)]:
                    matched.append(post)
            return matched if len(matched) == len(events) else None

        self.wait_for(lambda posts: found(posts) is not None, seconds=seconds)
        result = found(self.posts)
        assert result is not None
        return result

    def clear(self) -> None:
        with self._arrived:
            self._posts.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture(scope='module')
def shared_fake() -> Iterator[FakeWahaApi]:
    # One server for the module keeps the files fast; `fake` resets it between tests.
    with FakeWahaApi() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeWahaApi) -> FakeWahaApi:
    shared_fake.reset()
    shared_fake.default_webhook = None
    shared_fake.engine = 'WEBJS'
    return shared_fake


@pytest.fixture
async def client(fake: FakeWahaApi) -> AsyncIterator[WahaClient]:
    async with WahaClient(base_url=fake.base_url, api_key=fake.api_key, timeout=5.0) as waha:
        yield waha


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    try:
        yield server
    finally:
        server.close()
