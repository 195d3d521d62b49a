"""The fake WAHA kept in memory: for tests (served from a thread, `FakeWahaApi`) and benchmarks (a process of its
own, `python -m services.whatsapp.waha.fake_server`)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Self

import uvicorn

from .. import payload_builders as build
from .contract import (
    DEFAULT_API_KEY,
    AcceptedSend,
    FakeWaha,
    SeenReceipt,
    StoredMedia,
    WebhookTarget,
)


class MemoryBackend:
    """Sends, read receipts and media in lists and a dict. Every number has WhatsApp unless told otherwise.

    `keep_sends=False` for long runs (benchmarks): memory would grow with every send."""

    def __init__(self, *, keep_sends: bool = True) -> None:
        self.keep_sends = keep_sends
        self._lock = threading.Lock()
        self._sends: list[AcceptedSend] = []
        self._seen: list[SeenReceipt] = []
        self._media: dict[tuple[str, str], StoredMedia] = {}
        self._missing: set[str] = set()
        self.send_count = 0

    def keep_send(self, send: AcceptedSend) -> None:
        with self._lock:
            self.send_count += 1
            if self.keep_sends:
                self._sends.append(send)

    def keep_seen(self, receipt: SeenReceipt) -> None:
        with self._lock:
            if self.keep_sends:
                self._seen.append(receipt)

    def keep_media(self, media: StoredMedia) -> None:
        with self._lock:
            self._media[media.session, media.name] = media

    def find_media(self, session: str, name: str) -> StoredMedia | None:
        with self._lock:
            return self._media.get((session, name))

    def number_exists(self, digits: str) -> bool:
        with self._lock:
            return digits not in self._missing

    def set_number_exists(self, phone: str, exists: bool) -> None:
        digits = ''.join(ch for ch in phone if ch.isdigit())
        with self._lock:
            if exists:
                self._missing.discard(digits)
            else:
                self._missing.add(digits)

    @property
    def sends(self) -> list[AcceptedSend]:
        with self._lock:
            return list(self._sends)

    @property
    def seen(self) -> list[SeenReceipt]:
        with self._lock:
            return list(self._seen)

    def media_by_url(self, url: str) -> StoredMedia:
        """The stored file a `media.url` points to (`…/api/files/{session}/{name}`)."""
        session, name = url.rstrip('/').split('/')[-2:]
        found = self.find_media(session, name)
        if found is None:
            raise KeyError(url)
        return found

    def clear(self) -> None:
        with self._lock:
            self._sends.clear()
            self._seen.clear()
            self._media.clear()
            self._missing.clear()
            self.send_count = 0


class FakeWahaApi(FakeWaha):
    """A FakeWaha in memory over real HTTP on 127.0.0.1 (a free port), served from a thread of its own.

    ```
    with FakeWahaApi(default_webhook=WebhookTarget(receiver_url, 'hmac-key')) as fake:
        fake.add_session('default')                      # paired and WORKING
        client = WahaClient(base_url=fake.base_url, api_key=fake.api_key)
    ```
    Requests are recorded (`requests`), sends kept (`sends`, `seen`), answers scriptable (`script_send`).
    """

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        engine: str = build.DEFAULT_ENGINE,
        default_webhook: WebhookTarget | None = None,
        start_delay: float = 0.0,
        ack_delays: tuple[float, float] = (0.0, 0.2),
        keep_requests: bool = True,
    ) -> None:
        self.memory = MemoryBackend()
        super().__init__(
            self.memory,
            api_key=api_key,
            engine=engine,
            default_webhook=default_webhook,
            start_delay=start_delay,
            ack_delays=ack_delays,
            keep_requests=keep_requests,
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._bound = threading.Event()

    # --- lifecycle ---

    def start(self) -> Self:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', 0))  # port 0: the OS picks a free one, so parallel fakes never collide
        self._port = sock.getsockname()[1]
        self.public_url = self.origin
        config = uvicorn.Config(
            self, lifespan='off', log_level='warning', access_log=False, timeout_graceful_shutdown=1
        )
        server = uvicorn.Server(config)
        self._server = server
        self._stopping.clear()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(server, sock)), name=f'fake-waha:{self._port}', daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 5
        while not (server.started and self._bound.is_set()):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError('fake WAHA did not start')
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
        self._bound.clear()

    async def _serve(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.bind_loop()  # control calls from the test's thread post webhooks through this loop
        self._bound.set()
        try:
            await server.serve(sockets=[sock])
        finally:
            await self.aclose()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError('fake WAHA not started')
        return self._port

    @property
    def origin(self) -> str:
        return f'http://127.0.0.1:{self.port}'

    @property
    def base_url(self) -> str:
        """What WahaClient's `base_url` is (WAHA serves its API at the root)."""
        return self.origin

    # --- what the memory holds ---

    @property
    def sends(self) -> list[AcceptedSend]:
        return self.memory.sends

    @property
    def seen(self) -> list[SeenReceipt]:
        return self.memory.seen

    def media(self, url: str) -> StoredMedia:
        return self.memory.media_by_url(url)

    def set_number_exists(self, phone: str, exists: bool) -> None:
        self.memory.set_number_exists(phone, exists)

    def reset(self) -> None:
        """Forget sessions, requests, webhooks, scripts, sends and media (for a fake shared by several tests)."""
        self.forget()
        self.memory.clear()
