"""The embedded WhatsApp simulator (M5): the customer's phone and Meta's side of the wire, offline.

Customers' messages go to the app through the same signed webhook Meta uses; the app's replies arrive
at the fake Graph API (`services.whatsapp.fake_graph`, served by the app itself under `GRAPH_PATH`, only in
simulator mode), whose backend the simulator is: it keeps them in its tables for the customer's page, and
the fake posts signed `sent` / `delivered` / `read` status webhooks back, as Meta does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import col, select

from ..database import Database
from ..errors import InvalidInput, NotFound
from ..media_store import MediaStore
from ..models import ChannelKind, SimulatorMedia, SimulatorMessage, WhatsAppNumber
from . import payload_builders as build
from .fake_graph import AcceptedSend, FakeGraph, StatusWebhook, StoredMedia

log = logging.getLogger(__name__)

GRAPH_PATH = '/fake-graph'  # where the app serves `Simulator.graph`
ChatKey = tuple[str, str]  # (phone_number_id, customer wa_id)
Listener = Callable[[SimulatorMessage], None]


@dataclass(frozen=True)
class SimulatorNumber:
    phone_number_id: str
    display_phone: str
    label: str
    branch_id: int


class Simulator:
    """The customer's phone (for the simulator page) and the storage behind the app's fake Graph API (`graph`)."""

    def __init__(
        self,
        db: Database,
        *,
        app_secret: str,
        webhook_url: str,
        token: str,
        store: MediaStore,
        public_base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        delivered_after: float = 0.3,
    ) -> None:
        self.db = db
        self.store = store
        self.delivered_after = delivered_after
        self.graph = FakeGraph(
            self,
            token=token,
            status_webhook=StatusWebhook(webhook_url, app_secret, sent_after=0.05, delivered_after=delivered_after),
            public_url=public_base_url.rstrip('/') + GRAPH_PATH,
            webhook_transport=transport,
        )
        self._listeners: dict[ChatKey, list[Listener]] = {}
        self._open_chats: dict[ChatKey, int] = {}

    async def aclose(self) -> None:
        await self.graph.aclose()

    # --- the customer's phone ---------------------------------------------------------------------------

    async def numbers(self) -> list[SimulatorNumber]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(WhatsAppNumber)
                    .where(WhatsAppNumber.channel == ChannelKind.SIMULATOR, col(WhatsAppNumber.active).is_(True))
                    .order_by(WhatsAppNumber.display_phone)
                )
            ).all()
        return [SimulatorNumber(n.phone_number_id, n.display_phone, n.label, n.branch_id) for n in rows]

    async def history(self, phone_number_id: str, customer_wa_id: str, *, limit: int = 200) -> list[SimulatorMessage]:
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(SimulatorMessage)
                    .where(
                        SimulatorMessage.phone_number_id == phone_number_id,
                        SimulatorMessage.customer_wa_id == customer_wa_id,
                    )
                    .order_by(col(SimulatorMessage.id).desc())
                    .limit(limit)
                )
            ).all()
        return list(reversed(rows))

    def listen(self, key: ChatKey, listener: Listener) -> Callable[[], None]:
        """Live updates for one chat (new messages and status changes); returns the unsubscribe function."""
        self._listeners.setdefault(key, []).append(listener)

        def unsubscribe() -> None:
            listeners = self._listeners.get(key, [])
            if listener in listeners:
                listeners.remove(listener)
            if not listeners:  # every visit uses a new random phone: never keep empty entries
                self._listeners.pop(key, None)

        return unsubscribe

    async def chat_opened(self, key: ChatKey) -> None:
        """The customer is looking at the chat: everything the business sent so far is now read."""
        self._open_chats[key] = self._open_chats.get(key, 0) + 1
        await self._mark_business_messages_read(key)

    def chat_closed(self, key: ChatKey) -> None:
        remaining = self._open_chats.get(key, 0) - 1
        if remaining > 0:
            self._open_chats[key] = remaining
        else:
            self._open_chats.pop(key, None)

    async def customer_sends_text(
        self, *, phone_number_id: str, customer_wa_id: str, customer_name: str, text: str
    ) -> SimulatorMessage:
        if not text.strip():
            raise InvalidInput('the message is empty')
        number = await self._number(phone_number_id)
        message = build.text_message(from_=customer_wa_id, body=text)
        return await self._customer_sends(number, customer_wa_id, customer_name, message, type_='text', text=text)

    async def customer_sends_media(
        self,
        *,
        phone_number_id: str,
        customer_wa_id: str,
        customer_name: str,
        content: bytes,
        mime_type: str,
        filename: str,
        caption: str = '',
        max_bytes: int = 16 * 1024 * 1024,
    ) -> SimulatorMessage:
        if not content:
            raise InvalidInput('the file is empty')
        if len(content) > max_bytes:
            raise InvalidInput(f'file too large: {len(content)} bytes (limit {max_bytes})')
        number = await self._number(phone_number_id)
        media_id = await self.keep_media(content, mime_type=mime_type, filename=filename)
        digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
        if mime_type.startswith('image/'):
            type_ = 'image'
            message = build.image_message(
                from_=customer_wa_id, media_id=media_id, mime_type=mime_type, sha256=digest, caption=caption
            )
        else:
            type_ = 'document'
            message = build.document_message(
                from_=customer_wa_id,
                media_id=media_id,
                filename=filename,
                mime_type=mime_type,
                sha256=digest,
                caption=caption,
            )
        return await self._customer_sends(
            number, customer_wa_id, customer_name, message, type_=type_, text=caption, media_id=media_id
        )

    async def _customer_sends(
        self,
        number: WhatsAppNumber,
        customer_wa_id: str,
        customer_name: str,
        message: dict[str, Any],
        *,
        type_: str,
        text: str,
        media_id: str | None = None,
    ) -> SimulatorMessage:
        record = SimulatorMessage(
            phone_number_id=number.phone_number_id,
            customer_wa_id=customer_wa_id,
            from_customer=True,
            wa_message_id=message['id'],
            type=type_,
            text=text,
            media_id=media_id,
            status='sending',
            payload=message,
        )
        async with self.db.session() as session:
            session.add(record)
            await session.commit()
        body = build.envelope(
            phone_number_id=number.phone_number_id,
            display_phone_number=number.display_phone.lstrip('+'),
            contacts=[build.contact(wa_id=customer_wa_id, name=customer_name or customer_wa_id)],
            messages=[message],
        )
        accepted = await self.graph.post_webhook(body)
        # Like WhatsApp: one tick when the server has it, two when the business's phone number received it.
        await self._set_status(record.wa_message_id, 'delivered' if accepted else 'failed')
        return record

    # --- Meta's side: the backend of the fake Graph API (services.whatsapp.fake_graph) ---------------------

    async def display_phone(self, phone_number_id: str) -> str | None:
        number = await self._simulator_number(phone_number_id)
        return number.display_phone.lstrip('+') if number is not None else None

    async def keep_send(self, send: AcceptedSend) -> None:
        """The app sent a message (POST /{phone_number_id}/messages): it reaches the customer's phone."""
        type_ = str(send.payload.get('type', 'text'))
        text, media_id = _outbound_text(type_, send.payload)
        record = SimulatorMessage(
            phone_number_id=send.phone_number_id,
            customer_wa_id=send.to,
            from_customer=False,
            wa_message_id=send.wamid,
            type=type_,
            text=text,
            media_id=media_id,
            status='sent',
            payload=send.payload,
        )
        async with self.db.session() as session:
            session.add(record)
            await session.commit()
        self._notify(record)

    async def after_delivered(self, send: AcceptedSend) -> None:
        """Two ticks on the phone; blue ones (and Meta's `read` webhook) at once if the customer has the chat open."""
        if self._open_chats.get((send.phone_number_id, send.to), 0) > 0:
            await asyncio.sleep(self.delivered_after)
            await self.graph.post_status(send, 'read')
            await self._set_status(send.wamid, 'read')
        else:
            await self._set_status(send.wamid, 'delivered')

    async def mark_read(self, phone_number_id: str, message_id: str) -> None:
        """The app marked a customer's message as read: the customer sees blue ticks."""
        async with self.db.session() as session:
            record = (
                await session.exec(
                    select(SimulatorMessage).where(
                        SimulatorMessage.wa_message_id == message_id,
                        SimulatorMessage.phone_number_id == phone_number_id,
                    )
                )
            ).first()
        if record is not None:
            await self._set_status(record.wa_message_id, 'read')

    async def keep_media(self, content: bytes, *, mime_type: str, filename: str) -> str:
        """A file uploaded by the app or sent by a customer; returns its media id."""
        stored = await self.store.save(content, mime_type=mime_type)
        media_id = f'{int(time.time() * 1000)}{secrets.randbelow(10**6):06d}'  # Meta's ids are long digit strings
        async with self.db.session() as session:
            session.add(
                SimulatorMedia(
                    media_id=media_id,
                    mime_type=mime_type,
                    filename=filename[:255],
                    sha256=stored.sha256,
                    size_bytes=stored.size_bytes,
                    storage_path=stored.storage_path,
                )
            )
            await session.commit()
        return media_id

    async def find_media(self, media_id: str) -> StoredMedia | None:
        media = await self._media(media_id)
        if media is None:
            return None
        return StoredMedia(
            media_id=media.media_id,
            mime_type=media.mime_type,
            sha256=media.sha256,
            size=media.size_bytes,
            filename=media.filename,
        )

    async def read_media(self, media: StoredMedia) -> bytes | None:
        kept = await self._media(media.media_id)
        if kept is None:
            return None
        try:
            return await self.store.read(kept.storage_path)
        except OSError:
            log.warning('simulator media %s is missing from the media folder', media.media_id)
            return None

    async def chat_file(self, media_id: str) -> tuple[StoredMedia, bytes] | None:
        """A file of a simulated chat (the quote PDF the app sent, a customer's photo) for the phone to open.
        Only files a chat message carries: the rest of the fake Graph API's uploads stay behind its token."""
        async with self.db.session() as session:
            shown = (
                await session.exec(select(SimulatorMessage.id).where(SimulatorMessage.media_id == media_id).limit(1))
            ).first()
        media = await self.find_media(media_id) if shown is not None else None
        if media is None:
            return None
        content = await self.read_media(media)
        return (media, content) if content is not None else None

    # --- internals --------------------------------------------------------------------------------------

    async def _simulator_number(self, phone_number_id: str) -> WhatsAppNumber | None:
        async with self.db.session() as session:
            number = (
                await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == phone_number_id))
            ).first()
        return number if number is not None and number.channel == ChannelKind.SIMULATOR else None

    async def _number(self, phone_number_id: str) -> WhatsAppNumber:
        number = await self._simulator_number(phone_number_id)
        if number is None:
            raise NotFound(f'no simulator number {phone_number_id!r}')
        return number

    async def _media(self, media_id: str) -> SimulatorMedia | None:
        async with self.db.session() as session:
            return (await session.exec(select(SimulatorMedia).where(SimulatorMedia.media_id == media_id))).first()

    async def _mark_business_messages_read(self, key: ChatKey) -> None:
        async with self.db.session() as session:
            unread = (
                await session.exec(
                    select(SimulatorMessage).where(
                        SimulatorMessage.phone_number_id == key[0],
                        SimulatorMessage.customer_wa_id == key[1],
                        col(SimulatorMessage.from_customer).is_(False),
                        SimulatorMessage.status == 'delivered',
                    )
                )
            ).all()
        if not unread:
            return
        display_phone = await self.display_phone(key[0]) or key[0]
        for record in unread:
            send = AcceptedSend(
                record.phone_number_id, display_phone, record.wa_message_id, record.customer_wa_id, record.payload
            )
            await self.graph.post_status(send, 'read')
            await self._set_status(record.wa_message_id, 'read')

    async def _set_status(self, wa_message_id: str, status_name: str) -> None:
        async with self.db.session() as session:
            record = (
                await session.exec(select(SimulatorMessage).where(SimulatorMessage.wa_message_id == wa_message_id))
            ).first()
            if record is None:
                return
            record.status = status_name
            await session.commit()
            await session.refresh(record)
        self._notify(record)

    def _notify(self, record: SimulatorMessage) -> None:
        for listener in list(self._listeners.get((record.phone_number_id, record.customer_wa_id), [])):
            try:
                listener(record)
            except Exception:  # a closed page must not break the others
                log.exception('simulator listener failed')


def _outbound_text(type_: str, request: dict[str, Any]) -> tuple[str, str | None]:
    """What the customer's phone shows for a message the app sent."""
    body = request.get(type_) or {}
    if type_ == 'text':
        return str(body.get('body', '')), None
    if type_ == 'template':
        parameters = [
            str(p.get('text', ''))
            for component in body.get('components', [])
            for p in component.get('parameters', [])
            if isinstance(p, dict)
        ]
        return f'[{body.get("name", "plantilla")}] ' + ' · '.join(parameters), None
    if type_ in {'image', 'document', 'audio', 'video', 'sticker'}:
        return str(body.get('caption', '') or body.get('filename', '')), str(body.get('id', '')) or None
    with contextlib.suppress(TypeError, ValueError):
        return json.dumps(body, ensure_ascii=False)[:500], None
    return '', None
