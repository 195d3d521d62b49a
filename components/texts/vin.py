"""Photos to vehicles (SPEC V1–V3): VIN readings shown on images, manual correction."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
}
