"""The embedded WhatsApp simulator (M5): the customer's phone and Meta's side of the wire, offline.

Customers' messages go to the app through the same signed webhook Meta uses; the app's replies arrive
at a fake Graph API (served by the app itself, only in simulator mode), which stores them for the
customer's page and then posts signed `sent` / `delivered` / `read` status webhooks back, as Meta does.
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
from .signatures import HEADER, sign

log = logging.getLogger(__name__)

ChatKey = tuple[str, str]  # (phone_number_id, customer wa_id)
Listener = Callable[[SimulatorMessage], None]


@dataclass(frozen=True)
class SimulatorNumber:
    phone_number_id: str
    display_phone: str
    label: str
    branch_id: int


class Simulator:
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
        self.app_secret = app_secret
        self.webhook_url = webhook_url
        self.token = token
        self.store = store
        self.public_base_url = public_base_url.rstrip('/')
        self.delivered_after = delivered_after
        self._http = httpx.AsyncClient(transport=transport, timeout=15.0)
        self._listeners: dict[ChatKey, list[Listener]] = {}
        self._open_chats: dict[ChatKey, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()

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
        media_id = await self._keep_media(content, mime_type=mime_type, filename=filename)
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
        accepted = await self.post_webhook(body)
        # Like WhatsApp: one tick when the server has it, two when the business's phone number received it.
        await self._set_status(record.id or 0, 'delivered' if accepted else 'failed')
        return record

    async def post_webhook(self, body: dict[str, Any]) -> bool:
        raw = json.dumps(body, ensure_ascii=False).encode()
        try:
            response = await self._http.post(
                self.webhook_url,
                content=raw,
                headers={'Content-Type': 'application/json', HEADER: sign(raw, self.app_secret)},
            )
        except httpx.HTTPError as exc:
            log.warning('simulator could not reach the webhook: %s', exc)
            return False
        if response.status_code != 200:
            log.warning('simulator webhook answered %s: %s', response.status_code, response.text[:200])
        return response.status_code == 200

    # --- Meta's side: the fake Graph API ---------------------------------------------------------------

    def token_is_valid(self, authorization: str | None) -> bool:
        return authorization is not None and secrets.compare_digest(authorization, f'Bearer {self.token}')

    async def accept_outbound(self, phone_number_id: str, request: dict[str, Any]) -> dict[str, Any]:
        """POST /{phone_number_id}/messages from the app: store it for the customer, answer like Meta."""
        number = await self._number(phone_number_id)
        if request.get('status') == 'read':
            await self._business_read(number.phone_number_id, str(request.get('message_id', '')))
            return {'success': True}
        to = str(request.get('to', ''))
        type_ = str(request.get('type', 'text'))
        if not to.isdigit():
            raise InvalidInput("'to' must be the recipient's digits")
        text, media_id = _outbound_text(type_, request)
        wamid = build.new_wamid(wa_id=to)
        record = SimulatorMessage(
            phone_number_id=number.phone_number_id,
            customer_wa_id=to,
            from_customer=False,
            wa_message_id=wamid,
            type=type_,
            text=text,
            media_id=media_id,
            status='sent',
            payload=request,
        )
        async with self.db.session() as session:
            session.add(record)
            await session.commit()
        self._notify(record)
        self._spawn(self._report_statuses(number, record, request.get('biz_opaque_callback_data')))
        return {'messaging_product': 'whatsapp', 'contacts': [{'input': to, 'wa_id': to}], 'messages': [{'id': wamid}]}

    async def upload(self, phone_number_id: str, *, content: bytes, mime_type: str, filename: str) -> str:
        await self._number(phone_number_id)
        return await self._keep_media(content, mime_type=mime_type, filename=filename)

    async def media_info(self, media_id: str) -> dict[str, Any]:
        media = await self._media(media_id)
        return {
            'messaging_product': 'whatsapp',
            'url': f'{self.public_base_url}/fake-graph/media/{media_id}',
            'mime_type': media.mime_type,
            'sha256': media.sha256,
            'file_size': media.size_bytes,
            'id': media_id,
        }

    async def media_content(self, media_id: str) -> tuple[bytes, str, str]:
        media = await self._media(media_id)
        return await self.store.read(media.storage_path), media.mime_type, media.filename

    # --- internals --------------------------------------------------------------------------------------

    async def _number(self, phone_number_id: str) -> WhatsAppNumber:
        async with self.db.session() as session:
            number = (
                await session.exec(select(WhatsAppNumber).where(WhatsAppNumber.phone_number_id == phone_number_id))
            ).first()
        if number is None or number.channel != ChannelKind.SIMULATOR:
            raise NotFound(f'no simulator number {phone_number_id!r}')
        return number

    async def _media(self, media_id: str) -> SimulatorMedia:
        async with self.db.session() as session:
            media = (await session.exec(select(SimulatorMedia).where(SimulatorMedia.media_id == media_id))).first()
        if media is None:
            raise NotFound(f'no media {media_id!r}')
        return media

    async def _keep_media(self, content: bytes, *, mime_type: str, filename: str) -> str:
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

    async def _report_statuses(self, number: WhatsAppNumber, record: SimulatorMessage, callback: Any) -> None:
        key = (record.phone_number_id, record.customer_wa_id)
        for status_name, pause in (('sent', 0.05), ('delivered', self.delivered_after)):
            await asyncio.sleep(pause)
            await self._post_status(number, record, status_name, callback)
        if self._open_chats.get(key, 0) > 0:
            await asyncio.sleep(self.delivered_after)
            await self._post_status(number, record, 'read', callback)
            await self._set_status(record.id or 0, 'read')
        else:
            await self._set_status(record.id or 0, 'delivered')

    async def _post_status(
        self, number: WhatsAppNumber, record: SimulatorMessage, status_name: str, callback: Any
    ) -> None:
        status = build.status(
            wa_message_id=record.wa_message_id,
            status=status_name,
            recipient_id=record.customer_wa_id,
            pricing=status_name == 'sent',
            biz_opaque_callback_data=str(callback) if callback else None,
        )
        await self.post_webhook(
            build.envelope(
                phone_number_id=number.phone_number_id,
                display_phone_number=number.display_phone.lstrip('+'),
                statuses=[status],
            )
        )

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
        number = await self._number(key[0])
        for record in unread:
            await self._post_status(number, record, 'read', record.payload.get('biz_opaque_callback_data'))
            await self._set_status(record.id or 0, 'read')

    async def _business_read(self, phone_number_id: str, wa_message_id: str) -> None:
        """The app marked a customer's message as read: the customer sees blue ticks."""
        async with self.db.session() as session:
            record = (
                await session.exec(
                    select(SimulatorMessage).where(
                        SimulatorMessage.wa_message_id == wa_message_id,
                        SimulatorMessage.phone_number_id == phone_number_id,
                    )
                )
            ).first()
        if record is not None:
            await self._set_status(record.id or 0, 'read')

    async def _set_status(self, record_id: int, status_name: str) -> None:
        async with self.db.session() as session:
            record = await session.get(SimulatorMessage, record_id)
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

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


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
