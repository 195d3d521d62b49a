"""What every HTTP answer carries, and what no client can hold (issue 19, F7; SPEC O3).

The body timeout is tested over a real socket against a real uvicorn server: a client that declares a body and
stops sending is exactly what an in-process transport cannot imitate.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from nicegui.testing import User
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.middleware import RequestBodyTimeout
from tests.conftest import World


async def test_pages_carry_a_content_security_policy_and_the_other_security_headers(user: User, world: World) -> None:
    response = await user.http_client.get('/login')

    policy = response.headers['content-security-policy']
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "script-src 'self'" in policy  # no other site's scripts
    assert response.headers['x-frame-options'] == 'DENY'
    assert response.headers['x-content-type-options'] == 'nosniff'


async def test_the_api_keeps_its_headers_without_the_pages_policy(user: User, world: World) -> None:
    response = await user.http_client.get('/health')

    assert response.headers['x-content-type-options'] == 'nosniff'
    assert 'content-security-policy' not in response.headers  # /docs loads Swagger UI from its CDN


# --- a body that stops arriving -------------------------------------------------------------------------------


async def _echo(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f'{len(await request.body())} bytes')


@pytest.fixture
def slow_body_server() -> Iterator[int]:
    """A real uvicorn server on a free port: one echo route behind `RequestBodyTimeout(seconds=1)`."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    app = RequestBodyTimeout(Starlette(routes=[Route('/echo', _echo, methods=['POST'])]), seconds=1.0)
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='warning', lifespan='off'))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _send(port: int, request: bytes, *, wait: float = 15.0) -> tuple[bytes, float]:
    """Send raw bytes, read until the server closes; returns what came back and how long it took."""
    started = time.monotonic()
    with socket.create_connection(('127.0.0.1', port), timeout=wait) as connection:
        connection.sendall(request)
        received = b''
        while chunk := connection.recv(4096):
            received += chunk
    return received, time.monotonic() - started


async def test_a_body_that_stops_arriving_is_408_and_the_connection_closes(slow_body_server: int) -> None:
    request = b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nabc'

    answer, seconds = await asyncio.to_thread(_send, slow_body_server, request)

    assert answer.startswith(b'HTTP/1.1 408')
    assert seconds < 10  # not the 70 s a stalled upload held a connection for


async def test_a_complete_body_is_answered_normally(slow_body_server: int) -> None:
    request = b'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc'

    answer, _ = await asyncio.to_thread(_send, slow_body_server, request)

    assert answer.startswith(b'HTTP/1.1 200') and answer.endswith(b'3 bytes')
