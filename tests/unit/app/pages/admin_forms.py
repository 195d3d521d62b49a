"""Filling the administration forms (components/admin/form.py) in NiceGUI's simulated browser, as a person does:
type into a field, pick an option of a select, press save; then read what the page says."""

from __future__ import annotations

from typing import Any

from nicegui import ui
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from tests.unit.app.pages.test_login import sign_in


def field(user: User, marker: str) -> Any:
    return user.find(marker=marker).elements.pop()


def fill(user: User, marker: str, text: str) -> None:
    """Replace what a text field holds (a number field: its value) with `text`."""
    element = field(user, marker)
    if isinstance(element, ui.number):
        element.value = float(text) if text else None  # `type` appends digits; a person selects and retypes
        return
    user.find(marker=marker).clear().type(text)


def choose(user: User, marker: str, label: str) -> None:
    """Open a select and click the option showing `label`."""
    select = field(user, marker)
    assert isinstance(select, ui.select)
    assert label in options(user, marker), f'{label!r} not among {select.options}'
    user.find(marker=marker).click()  # opens the popup
    UserInteraction(user, {select}, label).click()  # the option, as NiceGUI's own `user.find('Option').click()`


def options(user: User, marker: str) -> list[str]:
    select = field(user, marker)
    return list(select.options.values()) if isinstance(select.options, dict) else list(select.options)


async def save_and_expect_error(user: User, prefix: str, message: str) -> None:
    user.find(marker=f'{prefix}-save').click()
    await user.should_see(marker=f'{prefix}-error', content=message)


async def signed_in(user: User, username: str, password: str, name: str) -> None:
    await sign_in(user, username, password)
    await user.should_see(name)
