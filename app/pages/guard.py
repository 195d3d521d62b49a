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
from components.i18n import t
from components.page_frame import page_frame
from services import auth, branches
from services.access import Viewer
from services.models import Role

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
            with page_frame(
                viewer,
                active_path=path,
                branches=visible_branches,
                on_logout=logout,
                simulator_enabled=runtime().simulator is not None,
                full_height=full_height,
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


async def current_viewer() -> Viewer | None:
    return await auth.viewer_for_session(runtime().db, app.storage.user.get(SESSION_KEY))


async def logout() -> None:
    token = app.storage.user.pop(SESSION_KEY, None)
    if token:
        await auth.logout(runtime().db, token=token)
    app.storage.user.pop('branch_id', None)
    ui.navigate.to('/login')
