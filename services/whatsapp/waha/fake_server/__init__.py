"""A fake WAHA (WhatsApp HTTP API gateway): ONE implementation of the contract, shared by the tests, the offline
demo and the benchmarks.

The contract, as WAHA serves it (sources in services/whatsapp/waha/__init__.py):

- sessions: `GET /api/sessions[?all=true]`, `POST /api/sessions` ({name, start, config: {webhooks: [{url, events,
  hmac: {key}}], metadata}}; 422 if it exists), `GET|PUT|DELETE /api/sessions/{session}`,
  `POST /api/sessions/{session}/start|stop|restart|logout`, `GET /api/sessions/{session}/me` (null unless WORKING);
  statuses STOPPED → STARTING → SCAN_QR_CODE (unpaired) or WORKING (still paired); FAILED; any other string
  through `set_status` (PASSKEY_REQUIRED carries its WebAuthn challenge as `data`);
- `GET /api/{session}/auth/qr`: PNG (a real, scannable QR), `Accept: application/json` → {mimetype, data},
  `format=raw` → {value}; only while SCAN_QR_CODE, else WAHA's 422 {error, session, status, expected};
- `POST /api/sendText|sendImage|sendFile` (answered 201 with the engine's message object: WEBJS by default, NOWEB
  or GOWS), `POST /api/sendSeen`, `GET /api/contacts/check-exists?phone=&session=`: only while WORKING (422
  otherwise); a bad body gets NestJS's 400 {statusCode, message: [...], error};
- `GET /api/files/{session}/{file}`: the media `media.url` points to; `GET /api/server/version`;
- every route wants `X-Api-Key` (or `?x-api-key=`) when a key is set: else 401 {"message": "Unauthorized",
  "statusCode": 401}; an unknown session: 404 "We didn't find a session with name '…'";
- webhooks: WAHA's envelope, signed with `X-Webhook-Hmac` (HMAC-SHA512 hex) + `X-Webhook-Hmac-Algorithm: sha512`
  when the webhook has an HMAC key: `session.status` on every change; after a send `message.any` (fromMe,
  source api), then `message.ack` SERVER (1) and DEVICE (2).

`FakeWaha` (contract.py) is that contract as an ASGI app over a `FakeWahaBackend`. `MemoryBackend` (memory.py) keeps
things in memory; `FakeWahaApi` serves it over real HTTP from a thread (tests); `python -m
services.whatsapp.waha.fake_server --port 3000 --webhook URL --hmac-key K --session default` runs it as a process.
Mount it in an app: `app.mount('/fake-waha', FakeWaha(MemoryBackend(), public_url='http://host:port/fake-waha'))`.

Control (Python, any thread; and `POST /_fake/sessions/{session}/{action}`, not WAHA's): `add_session` (create),
`scan`, `fail`, `set_status` (status), `rotate_qr` (rotate-qr), `customer_text` / `customer_media` /
`customer_location` / `customer_contacts` / `group_message` / `lid_message` / `phone_typed` (inbound {type: …}),
`emit` (event), `ack` (ack); `script_send([500, 2.5, Reply(...)])` (`POST /_fake/script-send`), numbers without
WhatsApp via `set_number_exists` (`POST /_fake/numbers/{phone}`), `GET /_fake/sends`.
"""

from .contract import (
    DEFAULT_API_KEY,
    DEFAULT_PAIRED_PHONE,
    AcceptedSend,
    FakeSession,
    FakeWaha,
    FakeWahaBackend,
    FakeWahaError,
    PostedWebhook,
    RecordedRequest,
    Reply,
    ScriptItem,
    SeenReceipt,
    StoredMedia,
    WebhookTarget,
)
from .media import new_qr_value, qr_png, sample
from .memory import FakeWahaApi, MemoryBackend

__all__ = [
    'DEFAULT_API_KEY',
    'DEFAULT_PAIRED_PHONE',
    'AcceptedSend',
    'FakeSession',
    'FakeWaha',
    'FakeWahaApi',
    'FakeWahaBackend',
    'FakeWahaError',
    'MemoryBackend',
    'PostedWebhook',
    'RecordedRequest',
    'Reply',
    'ScriptItem',
    'SeenReceipt',
    'StoredMedia',
    'WebhookTarget',
    'new_qr_value',
    'qr_png',
    'sample',
]
