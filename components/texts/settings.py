"""UI texts of the settings feature (es-AR first, English)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {}
