"""The frame around every signed-in page: header with the user, their branch, a branch selector
for managers/admins, the language switch, and navigation to the pages that exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nicegui import app, ui

from services.access import Viewer
from services.models import Branch, Role

from .i18n import LOCALES, current_locale, t


@dataclass(frozen=True)
class NavItem:
    path: str
    label_key: str
    icon: str
    minimum_role: Role
    needs_simulator: bool = False


NAV_ITEMS = [
    NavItem('/', 'nav.conversations', 'forum', Role.AGENT),
    NavItem('/presupuestos', 'sales.nav.quotes', 'request_quote', Role.AGENT),
    NavItem('/catalog', 'nav.catalog', 'inventory_2', Role.AGENT),
    NavItem('/reportes', 'sales.nav.reports', 'bar_chart', Role.MANAGER),
    NavItem('/admin/branches', 'nav.branches', 'store', Role.MANAGER),
    NavItem('/admin/users', 'nav.users', 'group', Role.MANAGER),
    NavItem('/admin/webhooks', 'nav.webhooks', 'report', Role.ADMIN),
    NavItem('/simulador', 'nav.simulator', 'smartphone', Role.AGENT, needs_simulator=True),
]


def selected_branch_id() -> int | None:
    """The branch chosen in the header selector (None = all the viewer may see)."""
    value = app.storage.user.get('branch_id')
    return value if isinstance(value, int) else None


@contextmanager
def page_frame(
    viewer: Viewer,
    *,
    active_path: str,
    branches: list[Branch],
    on_logout: Callable[[], Awaitable[None]],
    simulator_enabled: bool = False,
    full_height: bool = False,
    header_tools: Callable[[], object] | None = None,
) -> Iterator[ui.column]:
    """`header_tools` builds what goes next to the user's name (the admins' alerts bell)."""
    branch_names = {branch.id: f'{branch.code} · {branch.name}' for branch in branches}
    with ui.header().classes('items-center gap-4 px-4 py-2 bg-slate-800 text-white'):
        ui.label(t('app.name')).classes('text-lg font-bold')
        with ui.row().classes('gap-1'):
            for item in NAV_ITEMS:
                if viewer.has_role(item.minimum_role) and (simulator_enabled or not item.needs_simulator):
                    button = ui.button(
                        t(item.label_key), icon=item.icon, on_click=lambda path=item.path: ui.navigate.to(path)
                    ).props('flat no-caps')
                    button.classes('text-white' + (' bg-slate-600' if item.path == active_path else ''))
                    button.mark(f'nav-{item.path}')
        ui.space()
        if viewer.has_role(Role.MANAGER) and len(branches) > 1:
            options: dict[int | None, str] = {None: t('header.all_branches'), **branch_names}
            ui.select(
                options,
                value=selected_branch_id() if selected_branch_id() in options else None,
                on_change=_change_branch,
            ).props('dense dark outlined options-dense').classes('w-56').mark('branch-selector')
        ui.select(
            {locale: locale.upper() for locale in LOCALES}, value=current_locale(), on_change=_change_locale
        ).props('dense dark borderless').mark('locale-selector')
        if header_tools is not None:
            header_tools()
        with ui.column().classes('gap-0 items-end'):
            ui.label(viewer.full_name).classes('text-sm font-medium').mark('viewer-name')
            home_branch = branch_names.get(viewer.branch_id, '') if viewer.branch_id else ''
            ui.label(' · '.join(filter(None, [t(f'role.{viewer.role}'), home_branch]))).classes(
                'text-xs opacity-80'
            ).mark('viewer-role')
        ui.button(icon='logout', on_click=on_logout).props('flat round color=white').tooltip(t('nav.logout')).mark(
            'logout'
        )
    # Full height: the inbox's three columns scroll on their own instead of the page.
    classes = 'w-full p-0 gap-0 h-[calc(100vh-56px)]' if full_height else 'w-full p-4 gap-4'
    with ui.column().classes(classes) as content:
        yield content


def _change_branch(event: object) -> None:
    app.storage.user['branch_id'] = getattr(event, 'value', None)
    ui.navigate.reload()


def _change_locale(event: object) -> None:
    app.storage.user['locale'] = getattr(event, 'value', None)
    ui.navigate.reload()
