"""A VIN reading on an image in the chat, with a manual-correction control (SPEC V1)."""

from __future__ import annotations

from .reading_view import VinReadingView

__all__ = ['VinReadingView']
