"""`signed_in_page`: registers a NiceGUI page that only signed-in users with a high enough role reach.

Every page of the app goes through it, so authentication and the role check (SPEC B2) cannot be
forgotten on a new page. The page function receives the `Viewer` as a keyword argument.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import app, ui

from app.runtime import runtime
from components.alerts_bell import AlertsBell
from components.i18n import t
from components.page_frame import page_frame
from services import auth, branches, users
from services.access import Viewer
from services.alerts import ALERT_EVENTS, list_open_alerts
from services.models import Branch, Role

SESSION_KEY = 'session_token'

PageFunction = Callable[..., Awaitable[None]]


def signed_in_page(
    path: str, *, minimum_role: Role = Role.AGENT, title_key: str, full_height: bool = False
) -> Callable[[PageFunction], Any]:
    def decorator(func: PageFunction) -> Any:
        own_parameters = [p for p in inspect.signature(func).parameters.values() if p.name != 'viewer']

        async def page(request: Request, **kwargs: Any) -> RedirectResponse | None:
            viewer = await current_viewer()
            if viewer is None:
                target = request.url.path + (f'?{request.url.query}' if request.url.query else '')
                return RedirectResponse(f'/login?next={quote(target)}', status_code=303)
            ui.page_title(f'{t(title_key)} · LeadMaster')
            visible_branches = await branches.list_branches(runtime().db, viewer=viewer)
            bell = await _alerts_bell(viewer, visible_branches)
            with page_frame(
                viewer,
                active_path=path,
                branches=visible_branches,
                on_logout=logout,
                simulator_enabled=runtime().simulator is not None,
                full_height=full_height,
                header_tools=bell,
                change_password=_password_changer(viewer) if viewer.user_id is not None else None,
            ):
                if not viewer.has_role(minimum_role):
                    ui.label(t('forbidden.title')).classes('text-2xl').mark('forbidden')
                    ui.label(t('forbidden.body'))
                    return None
                await func(viewer=viewer, **kwargs)
            return None

        # NiceGUI and FastAPI read the signature to pass path/query parameters and the request.
        request_parameter = inspect.Parameter('request', inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request)
        page.__signature__ = inspect.Signature([request_parameter, *own_parameters])  # type: ignore[attr-defined]
        page.__name__ = func.__name__
        page.__module__ = func.__module__
        return ui.page(path)(page)

    return decorator


async def _alerts_bell(viewer: Viewer, visible_branches: list[Branch]) -> Callable[[], object] | None:
    """For admins: builds the header's alerts bell and subscribes it to the alerts of every branch and of the
    deployment (they concern the whole system, so only admins get them)."""
    if not viewer.has_role(Role.ADMIN):
        return None
    db = runtime().db
    alerts = await list_open_alerts(db, viewer=viewer)
    names = {branch.id: branch.name for branch in visible_branches if branch.id is not None}

    def build() -> AlertsBell:
        bell = AlertsBell(alerts, branch_names=names, reload=lambda: list_open_alerts(db, viewer=viewer))
        # A gap in a cross-process bus (a reconnect) may have lost alert events: the bell re-reads the list.
        subscription = runtime().bus.subscribe(bell.on_event, branch_ids=None, kinds=ALERT_EVENTS, on_gap=bell.resync)
        bell.client.on_delete(lambda: runtime().bus.unsubscribe(subscription))
        return bell

    return build


def _password_changer(viewer: Viewer) -> Callable[[str, str], Awaitable[None]]:
    async def change(current: str, new: str) -> None:
        await users.change_own_password(
            runtime().db,
            viewer=viewer,
            current_password=current,
            new_password=new,
            keep_session=app.storage.user.get(SESSION_KEY),
        )

    return change


async def current_viewer() -> Viewer | None:
    return await auth.viewer_for_session(runtime().db, app.storage.user.get(SESSION_KEY))


async def logout() -> None:
    token = app.storage.user.pop(SESSION_KEY, None)
    if token:
        await auth.logout(runtime().db, token=token)
    app.storage.user.pop('branch_id', None)
    ui.navigate.to('/login')
