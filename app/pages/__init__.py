"""All pages, registered from one place (`register_pages`)."""

from __future__ import annotations


def register_pages() -> None:
    # Importing a page module registers its routes via the @ui.page decorators.
    from app.pages import admin, catalog, inbox, login, quotes, reports, sessions, simulator  # noqa: F401
