"""Quotes, sales, commissions and reports (SPEC S2–S4)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
}
