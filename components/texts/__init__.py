"""Every UI phrase in Spanish (es-AR) and English, one module per feature so features never edit one file.

Each module defines `TEXTS: {key: {'es': ..., 'en': ...}}`; they are merged here, and a key defined twice
is an error at import (two features fighting over one phrase would otherwise be decided by import order).
"""

from __future__ import annotations

from types import ModuleType

from . import (
    admin,
    assistant,
    backups,
    campaigns,
    catalog,
    console,
    core,
    dashboard,
    leads,
    sales,
    sessions,
    settings,
    takeover,
    vin,
)


def _merged(*modules: ModuleType) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for module in modules:
        texts: dict[str, dict[str, str]] = module.TEXTS
        duplicates = merged.keys() & texts.keys()
        if duplicates:
            raise ValueError(f'UI text keys defined twice: {sorted(duplicates)}')
        merged.update(texts)
    return merged


TEXTS = _merged(
    core,
    takeover,
    assistant,
    vin,
    sales,
    sessions,
    console,
    catalog,
    backups,
    admin,
    settings,
    dashboard,
    leads,
    campaigns,
)
