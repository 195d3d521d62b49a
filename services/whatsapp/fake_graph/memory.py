"""The fake Graph API kept in memory: for tests (served from a thread, `FakeGraphApi`) and benchmarks (a process
of its own, `python -m services.whatsapp.fake_graph`)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Self

import uvicorn

from .contract import DEFAULT_TOKEN, DEFAULT_VERSION, AcceptedSend, FakeGraph, StatusWebhook, StoredMedia


@dataclass
class MemoryMedia(StoredMedia):
    content: bytes = b''


class MemoryBackend:
    """Media in a dict; sends are not kept (a test reads them from the recorded requests), read receipts neither.

    `phone_number_ids`: the numbers it serves (others get Meta's unknown-object error); None serves any, with
    the id as its display number.
    """

    def __init__(self, phone_number_ids: Iterable[str] | None = None) -> None:
        self.phone_number_ids = frozenset(phone_number_ids) if phone_number_ids is not None else None
        self._media: dict[str, MemoryMedia] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    async def display_phone(self, phone_number_id: str) -> str | None:
        if self.phone_number_ids is None or phone_number_id in self.phone_number_ids:
            return phone_number_id
        return None

    async def keep_send(self, send: AcceptedSend) -> None:
        return None

    async def after_delivered(self, send: AcceptedSend) -> None:
        return None

    async def mark_read(self, phone_number_id: str, message_id: str) -> None:
        return None

    async def keep_media(self, content: bytes, *, mime_type: str, filename: str) -> str:
        return self.add(content, mime_type, filename=filename)

    async def find_media(self, media_id: str) -> StoredMedia | None:
        with self._lock:
            return self._media.get(media_id)

    async def read_media(self, media: StoredMedia) -> bytes | None:
        with self._lock:
            kept = self._media.get(media.media_id)
        return kept.content if kept is not None else None

    def add(
        self,
        content: bytes,
        mime_type: str,
        *,
        filename: str = '',
        chunk_size: int = 64 * 1024,
        chunk_delay: float = 0.0,
        declare_length: bool = True,
    ) -> str:
        media_id = str(10**15 + next(self._ids))  # Meta media ids are 15-16 digit numbers
        media = MemoryMedia(
            media_id=media_id,
            mime_type=mime_type,
            sha256=hashlib.sha256(content).hexdigest(),
            size=len(content),
            filename=filename,
            chunk_size=chunk_size,
            chunk_delay=chunk_delay,
            declare_length=declare_length,
            content=content,
        )
        with self._lock:
            self._media[media_id] = media
        return media_id

    def get(self, media_id: str) -> MemoryMedia:
        with self._lock:
            return self._media[media_id]

    def clear(self) -> None:
        with self._lock:
            self._media.clear()


class FakeGraphApi(FakeGraph):
    """A FakeGraph in memory over real HTTP on 127.0.0.1 (a free port), served from a thread of its own.

    `with FakeGraphApi() as fake: GraphClient(base_url=fake.base_url, token=fake.token)`; it starts in well
    under a second. Requests are recorded (`requests`, `sent_messages`); answers scriptable (`script_send`).
    """

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        version: str = DEFAULT_VERSION,
        phone_number_ids: Iterable[str] | None = None,
        media_url_ttl: float = 300.0,
        status_webhook: StatusWebhook | None = None,
        keep_requests: bool = True,
    ) -> None:
        self.memory = MemoryBackend(phone_number_ids)
        super().__init__(
            self.memory,
            token=token,
            status_webhook=status_webhook,
            media_url_ttl=media_url_ttl,
            keep_requests=keep_requests,
        )
        self.version = version
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    # --- lifecycle ---

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', 0))  # port 0: the OS picks a free one, so parallel fakes never collide
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self, lifespan='off', log_level='warning', access_log=False, timeout_graceful_shutdown=1
        )
        server = uvicorn.Server(config)
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(server, sock)), name=f'fake-graph-api:{self._port}', daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 5
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError('fake Graph API did not start')
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._stopping.set()  # wakes scripted delays so shutdown never waits for them
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            await self.aclose()  # on the loop that made the webhook client and the status tasks

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError('fake Graph API not started')
        return self._port

    @property
    def origin(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    @property
    def base_url(self) -> str:
        return f'{self.origin}/{self.version}'

    # --- media, as if customers had sent it ---

    def add_media(
        self,
        content: bytes,
        mime_type: str,
        *,
        filename: str = '',
        chunk_size: int = 64 * 1024,
        chunk_delay: float = 0.0,
        declare_length: bool = True,
    ) -> str:
        """Store media as if a customer had sent it; returns its media id.

        `declare_length=False` streams without Content-Length (chunked); `chunk_delay` paces the chunks, so
        a test can tell a client that stops early from one that reads everything.
        """
        return self.memory.add(
            content,
            mime_type,
            filename=filename,
            chunk_size=chunk_size,
            chunk_delay=chunk_delay,
            declare_length=declare_length,
        )

    def media(self, media_id: str) -> MemoryMedia:
        return self.memory.get(media_id)

    def media_bytes_served(self, media_id: str) -> int:
        return self.memory.get(media_id).bytes_served

    def reset(self) -> None:
        """Forget requests, scripts and media (for a fake shared by several tests)."""
        self.forget()
        self.memory.clear()
