"""The AI assistant's stored state (SPEC A1-A3, C4): conversation summaries and bot turns."""

from __future__ import annotations
