"""Takeover and assignment (SPEC T1–T5): state chips, countdown, take/release buttons."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
}
