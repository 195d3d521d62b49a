"""Catalog search and the AI assistant (SPEC S1, A1–A3, C4): catalog page, AI summary panel."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
}
