"""A fake Meta Graph API (the WhatsApp Cloud API subset LeadMaster uses): ONE implementation of the contract,
shared by the embedded simulator (M5), the tests and the benchmarks.

The contract, as graph.facebook.com serves it:

- POST /{version}/{phone_number_id}/messages: sends (answers `messages[0].id` = `wamid.…`; text ≤ 4096
  characters, and the other checks Graph makes) and mark-as-read (`{"status": "read", "message_id": …}` answers
  `{"success": true}`);
- POST /{version}/{phone_number_id}/media: multipart upload (`messaging_product`, `type`, `file`) → `{"id"}`;
- GET /{version}/{media_id} → `{messaging_product, url, mime_type, sha256, file_size (a string, as Meta sends
  it), id}`;
- GET /{version}/{waba_id}/message_templates → `{"data": [{id, name, language, status, category, components}],
  "paging": {"cursors": {"before", "after"}, "next"}}`, paged by `limit` / `after` (the admins' template sync);
  a test sets a WABA's templates with `fake.set_templates(waba_id, [...])`;
- GET of the download URL it hands out (`/whatsapp_business/attachments/?mid=…&ext=…&hash=…`, like
  lookaside.fbsbx.com), valid for `media_url_ttl` seconds, with the bearer token too;
- after accepting a send, with a `StatusWebhook`: signed (`X-Hub-Signature-256`) `sent` and then `delivered`
  status webhooks posted to the app, echoing `biz_opaque_callback_data`.

Every route wants `Authorization: Bearer <token>`; otherwise 401 with Meta's error JSON (code 190). Errors
always have Meta's shape: `{"error": {"message", "type", "code", "error_data": {"messaging_product",
"details"}, "error_subcode", "fbtrace_id"}}`. An unknown phone number id or media id gets Graph's
unknown-object error (code 100, subcode 33).

`FakeGraph` (contract.py) is that contract as an ASGI app over a `FakeGraphBackend`, which decides only where
things are kept:

- `MemoryBackend` (memory.py): in a dict, for tests and benchmarks. `FakeGraphApi` serves it over real HTTP
  from a thread (tests); `python -m services.whatsapp.fake_graph --port 9000 --status-webhook
  http://127.0.0.1:8080/webhooks/whatsapp --app-secret S` as a process of its own, as Meta is (benchmarks).
- `services.whatsapp.simulator.Simulator`: in the simulator's tables, for the customer's phone page; it also
  posts `read` when the customer has the chat open. The app mounts it under `/fake-graph`.

Any fake can script its answers: `fake.script_send([500, (400, 131047), 2.5, Reply(...)])` queues the answers
to the next sends (a status, (status, Meta code), a delay then success, or a `Reply`); once the queue is empty
sends succeed. With `keep_requests` it records every request (`requests`, `sent_messages`, `read_receipts`).
"""

from .contract import (
    DEFAULT_TOKEN,
    DEFAULT_VERSION,
    META_ERRORS,
    TEXT_BODY_LIMIT,
    AcceptedSend,
    FakeGraph,
    FakeGraphBackend,
    RecordedFile,
    RecordedRequest,
    Reply,
    ScriptItem,
    StatusWebhook,
    StoredMedia,
    error_body,
    invalid_send,
)
from .memory import FakeGraphApi, MemoryBackend, MemoryMedia

__all__ = [
    'DEFAULT_TOKEN',
    'DEFAULT_VERSION',
    'META_ERRORS',
    'TEXT_BODY_LIMIT',
    'AcceptedSend',
    'FakeGraph',
    'FakeGraphApi',
    'FakeGraphBackend',
    'MemoryBackend',
    'MemoryMedia',
    'RecordedFile',
    'RecordedRequest',
    'Reply',
    'ScriptItem',
    'StatusWebhook',
    'StoredMedia',
    'error_body',
    'invalid_send',
]
