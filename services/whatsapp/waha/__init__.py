"""WAHA (devlikeapro/waha), the WhatsApp-Web HTTP gateway users run beside LeadMaster: its contract.

- `WahaClient` (client.py): the HTTP API (sessions, QR, sends, read receipts, check-exists, media downloads), typed
  results (`WahaSession`, `WahaMe`) and one error type (`WahaError`, `WahaUnreachable`, `WahaSessionNotReady`,
  `MediaTooLarge`).
- `parse_event` (events.py): webhook bodies → `WahaMessage` / `WahaAck` / `WahaSessionStatus` / `WahaUnknownEvent`;
  `verify_hmac` / `sign_body` for `X-Webhook-Hmac`.
- payload_builders.py: WAHA's webhook bodies, for the fake and tests; ids.py: chat and message ids.
- fake_server/: a fake WAHA (ASGI app, in-memory backend, `FakeWahaApi` over real HTTP, `python -m …`).

Session statuses are plain strings (`SessionStatus` names the documented ones, `KNOWN_SESSION_STATUSES`): WAHA adds
new ones (PASSKEY_REQUIRED, PASSKEY_CONFIRMATION_REQUIRED in 2026) and an unknown one must never break us.

Contract sources, read from devlikeapro/waha-docs (commit 1a6f1c4, 2026-07-24):
content/docs/how-to/sessions/index.md (session API, statuses incl. PASSKEY_*, QR formats, me, session.status),
content/docs/how-to/events/index.md (envelope, webhooks config, HMAC headers and test vector, every event),
content/docs/how-to/receive-messages/index.md and -chat-ids.md (message fields, media, replyTo, chat ids),
content/docs/how-to/send-messages/index.md (sendText/sendImage/sendFile/sendSeen, reply_to, file url|data),
content/docs/how-to/contacts/index.md (check-exists), content/docs/how-to/security/index.md (X-Api-Key, 401 body),
content/docs/how-to/presence/-events-presence.update.md, content/docs/how-to/calls/webhooks-call-received.md;
and devlikeapro/waha source (commit 55fc6a4): src/core/abc/manager.abc.ts (422 body), src/core/manager.core.ts
(404 body), src/nestjs/AllExceptionsFilter.ts (500 / file-not-found bodies), src/structures/enums.dto.ts (events,
statuses, acks), src/structures/responses.dto.ts (WAMessage, WALocation), src/api/chatting.controller.ts. Send
answers per engine: WAHA issues #760 (NOWEB `key`), #1087 (WEBJS `id._serialized`, empty 201 bodies).
"""

from .client import (
    API_KEY_HEADER,
    KNOWN_SESSION_STATUSES,
    WEBHOOK_EVENTS,
    MediaTooLarge,
    SessionStatus,
    WahaClient,
    WahaError,
    WahaMe,
    WahaSession,
    WahaSessionNotReady,
    WahaUnreachable,
    message_id_of,
    session_config,
)
from .events import (
    ACK_STATUS,
    HMAC_ALGORITHM,
    HMAC_ALGORITHM_HEADER,
    HMAC_HEADER,
    MessageKind,
    WahaAck,
    WahaEvent,
    WahaMessage,
    WahaPayloadError,
    WahaSessionStatus,
    WahaUnknownEvent,
    parse_event,
    sign_body,
    verify_hmac,
)
from .ids import chat_id_for_phone, is_group, is_lid, normalize_chat_id, parse_message_id, phone_of

__all__ = [
    'ACK_STATUS',
    'API_KEY_HEADER',
    'HMAC_ALGORITHM',
    'HMAC_ALGORITHM_HEADER',
    'HMAC_HEADER',
    'KNOWN_SESSION_STATUSES',
    'WEBHOOK_EVENTS',
    'MediaTooLarge',
    'MessageKind',
    'SessionStatus',
    'WahaAck',
    'WahaClient',
    'WahaError',
    'WahaEvent',
    'WahaMe',
    'WahaMessage',
    'WahaPayloadError',
    'WahaSession',
    'WahaSessionNotReady',
    'WahaSessionStatus',
    'WahaUnknownEvent',
    'WahaUnreachable',
    'chat_id_for_phone',
    'is_group',
    'is_lid',
    'message_id_of',
    'normalize_chat_id',
    'parse_event',
    'parse_message_id',
    'phone_of',
    'session_config',
    'sign_body',
    'verify_hmac',
]
