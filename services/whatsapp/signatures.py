"""`X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the app secret (M1).

Always computed over the exact bytes received: re-serialising JSON changes them and breaks the check.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = 'X-Hub-Signature-256'


def sign(body: bytes, secret: str) -> str:
    return 'sha256=' + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(body: bytes, header_value: str, secret: str) -> bool:
    # compare_digest: the comparison time must not reveal how many leading characters matched. On bytes,
    # because on str it raises for non-ASCII input (a forged header must get 403, not a 500).
    return hmac.compare_digest(sign(body, secret).encode(), header_value.strip().encode('utf-8', 'replace'))
