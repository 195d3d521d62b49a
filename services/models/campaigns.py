"""Tables of the campaigns feature (issue 16)."""

from __future__ import annotations
