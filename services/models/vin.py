"""VIN readings from customers' photos (SPEC V1-V3), cached by image sha256."""

from __future__ import annotations
