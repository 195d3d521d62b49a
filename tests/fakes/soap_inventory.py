"""A small SOAP stock service over real HTTP on 127.0.0.1, answering from `tests/fakes/inventory_stock.wsdl`.

- GET /stock?wsdl → the WSDL with its own address as the service location;
- POST /stock → `GetStock` (document/literal SOAP 1.1): checks the WS-Security UsernameToken (a SOAP Fault
  `wsse:FailedAuthentication` otherwise), answers `item{sku, quantity}` for the SKUs it knows in that branch.

Scriptable from the test's thread: `stock[('SUC1', 'SKU-1')] = 4`, `delay_seconds` (a slow service),
`requests` (how many GetStock calls arrived). `stop()` makes it a down server (connection refused).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

WSDL_PATH = Path(__file__).with_name('inventory_stock.wsdl')
NS = 'urn:leadmaster:inventory:v1'
SOAP_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd'
USERNAME = 'leadmaster'
PASSWORD = 'stock-secret'


class FakeSoapInventory:
    def __init__(self, *, username: str = USERNAME, password: str = PASSWORD) -> None:
        self.username = username
        self.password = password
        self.stock: dict[tuple[str, str], int] = {}
        self.delay_seconds = 0.0
        self.requests = 0
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._app = Starlette(
            routes=[Route('/stock', self._wsdl, methods=['GET']), Route('/stock', self._call, methods=['POST'])]
        )

    @property
    def wsdl_url(self) -> str:
        return f'http://127.0.0.1:{self._port}/stock?wsdl'

    def start(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', self._port or 0))
        self._port = sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self._app, lifespan='off', log_level='warning', access_log=False, timeout_graceful_shutdown=1
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={'sockets': [sock]}, daemon=True, name=f'fake-soap-inventory:{self._port}'
        )
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError('fake SOAP inventory did not start')
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _wsdl(self, request: Request) -> Response:
        if 'wsdl' not in request.query_params:
            return Response('add ?wsdl', status_code=400)
        text = WSDL_PATH.read_text().replace('LOCATION', f'http://127.0.0.1:{self._port}/stock')
        return Response(text, media_type='text/xml')

    async def _call(self, request: Request) -> Response:
        with self._lock:
            self.requests += 1
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        envelope = ET.fromstring(await request.body())  # noqa: S314 - a test fake parsing its client's request
        username = envelope.findtext(f'.//{{{WSSE}}}Username')
        password = envelope.findtext(f'.//{{{WSSE}}}Password')
        if username != self.username or password != self.password:
            return _fault('wsse:FailedAuthentication', 'The security token could not be authenticated')
        body = envelope.find(f'{{{SOAP_ENV}}}Body')
        call = body.find(f'{{{NS}}}GetStockRequest') if body is not None else None
        if call is None:
            return _fault('soap:Client', 'expected GetStockRequest')
        branch = call.findtext(f'{{{NS}}}branchCode') or ''
        items = ''.join(
            f'<tns:item><tns:sku>{escape(sku)}</tns:sku><tns:quantity>{self.stock[(branch, sku)]}</tns:quantity>'
            '</tns:item>'
            for sku in (element.text or '' for element in call.findall(f'{{{NS}}}sku'))
            if (branch, sku) in self.stock
        )
        return Response(
            f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
            f'xmlns:tns="{NS}"><soap:Body><tns:GetStockResponse>{items}</tns:GetStockResponse>'
            '</soap:Body></soap:Envelope>',
            media_type='text/xml',
        )


def _fault(code: str, text: str) -> Response:
    return Response(
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
        f'xmlns:wsse="{WSSE}"><soap:Body><soap:Fault><faultcode>{code}</faultcode>'
        f'<faultstring>{escape(text)}</faultstring></soap:Fault></soap:Body></soap:Envelope>',
        status_code=500,
        media_type='text/xml',
    )


@pytest.fixture
def fake_soap_inventory() -> Iterator[FakeSoapInventory]:
    with FakeSoapInventory() as fake:
        yield fake
