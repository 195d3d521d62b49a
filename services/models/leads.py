"""Tables of the leads feature (issue 16)."""

from __future__ import annotations
