"""Tables of the rate limits shared across processes (issue 20)."""

from __future__ import annotations
