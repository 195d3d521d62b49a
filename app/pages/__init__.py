"""All pages, registered from one place (`register_pages`)."""

from __future__ import annotations


def register_pages() -> None:
    # Importing a page module registers its routes via the @ui.page decorators.
    from app.pages import (  # noqa: F401
        admin,
        admin_records,
        branch_settings,
        campaigns,
        catalog,
        contacts,
        dashboard,
        inbox,
        login,
        quotes,
        reports,
        sessions,
        simulator,
        validation,
    )
