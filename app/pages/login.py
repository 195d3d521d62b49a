"""The login page (O2): username and password, lockout message, language switch."""

from __future__ import annotations

from datetime import UTC, datetime
from math import ceil
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui
from nicegui.events import ValueChangeEventArguments

from app.pages.guard import SESSION_KEY, current_viewer
from app.runtime import runtime
from components.i18n import LOCALES, current_locale, t
from services import auth
from services.database import DatabaseUnavailable
from services.errors import InvalidCredentials, LoginLocked


def safe_next(target: str | None) -> str:
    """Only same-site paths: `//evil.example`, `https://…` or `/\t/evil.example` (browsers drop the tab)
    would make the login an open redirect."""
    if (
        not target
        or not target.startswith('/')
        or '\\' in target
        or any(ord(char) < 32 or ord(char) == 127 for char in target)
    ):
        return '/'
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith('//'):
        return '/'
    return target


def _change_locale(event: ValueChangeEventArguments) -> None:
    app.storage.user.update(locale=event.value)
    ui.navigate.reload()


@ui.page('/login')
async def login_page(request: Request, next: str | None = None) -> RedirectResponse | None:  # noqa: A002
    target = safe_next(next)
    if await current_viewer() is not None:
        return RedirectResponse(target, status_code=303)
    ui.page_title(f'{t("login.title")} · LeadMaster')

    async def try_login() -> None:
        error.set_visibility(False)
        if not username.value or not password.value:
            show_error(t('login.required'))
            return
        client_ip = request.client.host if request.client else ''
        try:
            result = await auth.login(
                runtime().db,
                username=username.value,
                password=password.value,
                client_ip=client_ip,
                policy=runtime().login_policy,
            )
        except LoginLocked as exc:
            minutes = max(1, ceil((exc.until - datetime.now(UTC)).total_seconds() / 60))
            show_error(t('login.locked', minutes=minutes))
            return
        except InvalidCredentials:
            password.value = ''
            show_error(t('login.invalid'))
            return
        except DatabaseUnavailable:
            show_error(t('login.unavailable'))
            return
        app.storage.user[SESSION_KEY] = result.session_token
        app.storage.user.setdefault('locale', result.viewer.locale)
        ui.navigate.to(target)

    def show_error(message: str) -> None:
        error.text = message
        error.set_visibility(True)

    with ui.column().classes('absolute-center items-center gap-4 w-80'):
        ui.label('LeadMaster').classes('text-3xl font-bold text-slate-800')
        ui.label(t('login.subtitle')).classes('text-slate-500')
        with ui.card().classes('w-full gap-3'):
            username = (
                ui.input(t('login.username'))
                .props('autofocus autocomplete=username outlined')
                .classes('w-full')
                .mark('username')
            )
            password = (
                ui.input(t('login.password'), password=True, password_toggle_button=True)
                .props('autocomplete=current-password outlined')
                .classes('w-full')
                .mark('password')
            )
            password.on('keydown.enter', try_login)
            username.on('keydown.enter', try_login)
            error = ui.label().classes('text-negative text-sm').mark('login-error')
            error.set_visibility(False)
            ui.button(t('login.submit'), on_click=try_login).classes('w-full').mark('submit')
        ui.select(
            {locale: locale.upper() for locale in LOCALES},
            value=current_locale(),
            on_change=_change_locale,
        ).props('dense borderless').mark('locale-selector')
    return None
