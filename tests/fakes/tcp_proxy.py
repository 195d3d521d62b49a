"""A TCP proxy for fault tests, put between the app and PostgreSQL (or any server), with three modes:

- `pass_through()`: bytes flow both ways (the default, and what `resume()` returns to);
- `refuse()`: nothing listens on the proxy's port any more (a client's connect is refused at once) and every
  open connection is cut (RST to the client, close to the server): the database crashed, or its host went away;
- `stall()`: connections are accepted and kept, but no byte goes through in either direction (held, not dropped)
  and new connections are not passed on to the server: a network that drops packets, a server frozen by a full
  disk or a stopped VM. `resume()` releases what was held, in order, and connects the waiting clients.

It runs an asyncio loop in a thread of its own, so it serves while the test's thread (or loop) is busy or
blocked; the mode methods may be called from any thread and return once the mode is in force.

    with TcpProxy(('127.0.0.1', 5432)) as proxy:
        url = f'postgresql+asyncpg://postgres@127.0.0.1:{proxy.port}/db'
        ...
        proxy.refuse()
        ...
        proxy.pass_through()
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self, TypeVar

_T = TypeVar('_T')
_CHUNK = 64 * 1024
_CALL_TIMEOUT_SECONDS = 10.0


class ProxyMode(StrEnum):
    PASS_THROUGH = 'pass_through'
    REFUSE = 'refuse'
    STALL = 'stall'


@dataclass
class ProxyCounts:
    """What went through the proxy: connections accepted and cut, and bytes forwarded each way."""

    accepted: int = 0
    cut: int = 0
    open: int = 0
    bytes_up: int = 0  # client → server
    bytes_down: int = 0  # server → client


class _Link:
    """One client connection and, once flowing, its server connection."""

    def __init__(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.client_reader = client_reader
        self.client_writer = client_writer
        self.server_writer: asyncio.StreamWriter | None = None
        self.tasks: list[asyncio.Task[None]] = []

    def cut(self) -> None:
        """Abort both sides: the client gets a reset (SO_LINGER 0), the server an end of stream."""
        client_socket = self.client_writer.get_extra_info('socket')
        if client_socket is not None:
            with contextlib.suppress(OSError):
                client_socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        self.client_writer.transport.abort()
        if self.server_writer is not None:
            self.server_writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class TcpProxy:
    """Listens on 127.0.0.1:`port` (0: a free one, kept across `refuse()`) and forwards to `upstream`."""

    def __init__(self, upstream: tuple[str, int], *, host: str = '127.0.0.1', port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self._port = port
        self.mode = ProxyMode.PASS_THROUGH
        self.counts = ProxyCounts()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._flowing: asyncio.Event | None = None  # set while bytes may pass (not stalled)
        self._links: set[_Link] = set()

    # --- lifecycle (any thread) ---

    def start(self) -> Self:
        if self._thread is not None:
            return self
        started = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(started.set)
            loop.run_forever()

        self._thread = threading.Thread(target=serve, name='tcp-proxy', daemon=True)
        self._thread.start()
        started.wait(timeout=_CALL_TIMEOUT_SECONDS)
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._call(self._close_everything())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_CALL_TIMEOUT_SECONDS)
        self._loop.close()
        self._loop = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError('the proxy is not started')
        return self._port

    # --- modes (any thread) ---

    def pass_through(self) -> None:
        """Bytes flow; after `refuse()` the port listens again, after `stall()` what was held is released."""
        self._call(self._set_mode(ProxyMode.PASS_THROUGH))

    resume = pass_through

    def refuse(self) -> None:
        """Stop listening (connects are refused) and cut every open connection."""
        self._call(self._set_mode(ProxyMode.REFUSE))

    def stall(self) -> None:
        """Keep every connection, accept new ones, pass no byte and connect no new client, until resumed."""
        self._call(self._set_mode(ProxyMode.STALL))

    # --- the proxy's own loop ---

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._loop is None:
            coroutine.close()
            raise RuntimeError('the proxy is not started')
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=_CALL_TIMEOUT_SECONDS)

    async def _start(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        await self._listen()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port, reuse_address=True)
        self._port = self._server.sockets[0].getsockname()[1]

    async def _set_mode(self, mode: ProxyMode) -> None:
        assert self._flowing is not None
        if mode == ProxyMode.REFUSE:
            await self._stop_listening()
            self._cut_all()
            self._flowing.set()  # nothing is held any more: a later pass_through starts clean
        elif mode == ProxyMode.STALL:
            if self._server is None:
                await self._listen()
            self._flowing.clear()
        else:
            if self._server is None:
                await self._listen()
            self._flowing.set()
        self.mode = mode

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()  # the listening socket closes now; connections are cut separately
            self._server = None

    def _cut_all(self) -> None:
        for link in list(self._links):
            link.cut()
            self.counts.cut += 1
        self._links.clear()
        self.counts.open = 0

    async def _close_everything(self) -> None:
        await self._stop_listening()
        self._cut_all()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        assert self._flowing is not None
        link = _Link(client_reader, client_writer)
        self._links.add(link)
        self.counts.accepted += 1
        self.counts.open = len(self._links)
        try:
            await self._flowing.wait()  # stalled: the client waits, connected to nothing
            if link not in self._links:
                return  # cut while waiting
            server_reader, server_writer = await asyncio.open_connection(*self.upstream)
            link.server_writer = server_writer
            if link not in self._links:  # cut while connecting
                server_writer.transport.abort()
                return
            up = asyncio.create_task(self._pump(client_reader, server_writer, up=True))
            down = asyncio.create_task(self._pump(server_reader, client_writer, up=False))
            link.tasks = [up, down]
            await asyncio.wait(link.tasks, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            if link in self._links:
                self._links.discard(link)
                self.counts.open = len(self._links)
                for task in link.tasks:
                    task.cancel()
                client_writer.close()
                if link.server_writer is not None:
                    link.server_writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, up: bool) -> None:
        assert self._flowing is not None
        try:
            while data := await reader.read(_CHUNK):
                # Stalled: this chunk is held here and, the reader's buffer filling up, the kernel's buffers
                # hold the rest; nothing is dropped, and everything goes on in order when resumed.
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
                if up:
                    self.counts.bytes_up += len(data)
                else:
                    self.counts.bytes_down += len(data)
        except OSError:  # ConnectionResetError and its kin: the link ends
            return
