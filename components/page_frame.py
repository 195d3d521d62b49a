"""The frame around every signed-in page: header with the user, their branch, a branch selector
for managers/admins, the language switch, and navigation to the pages that exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import nicegui
from nicegui import app, ui

from services.access import Viewer
from services.models import Branch, Role

from .i18n import LOCALES, current_locale, default_locale, t
from .password_dialog import ChangePassword, PasswordDialog


@dataclass(frozen=True)
class NavItem:
    path: str
    label_key: str
    icon: str
    minimum_role: Role
    needs_simulator: bool = False
    # Items of a group share one header button with a menu (the administration's pages would not fit one line).
    group: str | None = None


ADMIN_GROUP = 'nav.admin'

NAV_ITEMS = [
    NavItem('/', 'nav.conversations', 'forum', Role.AGENT),
    NavItem('/presupuestos', 'sales.nav.quotes', 'request_quote', Role.AGENT),
    NavItem('/catalog', 'nav.catalog', 'inventory_2', Role.AGENT),
    NavItem('/contactos', 'nav.contacts', 'contacts', Role.AGENT),
    NavItem('/validacion', 'nav.validation', 'fact_check', Role.AGENT),
    NavItem('/panel', 'nav.dashboard', 'monitor_heart', Role.MANAGER),
    NavItem('/reportes', 'sales.nav.reports', 'bar_chart', Role.MANAGER),
    NavItem('/campanas', 'nav.campaigns', 'campaign', Role.MANAGER),
    NavItem('/admin/users', 'nav.users', 'group', Role.MANAGER, group=ADMIN_GROUP),
    NavItem('/admin/branches', 'nav.branches', 'store', Role.MANAGER, group=ADMIN_GROUP),
    NavItem('/admin/numbers', 'nav.numbers', 'phone_iphone', Role.ADMIN, group=ADMIN_GROUP),
    NavItem('/admin/templates', 'nav.templates', 'article', Role.MANAGER, group=ADMIN_GROUP),
    NavItem('/admin/canned', 'nav.canned', 'quickreply', Role.MANAGER, group=ADMIN_GROUP),
    NavItem('/admin/settings', 'nav.settings', 'tune', Role.MANAGER, group=ADMIN_GROUP),
    NavItem('/admin/apikeys', 'nav.apikeys', 'key', Role.ADMIN, group=ADMIN_GROUP),
    NavItem('/admin/audit', 'nav.audit', 'policy', Role.ADMIN, group=ADMIN_GROUP),
    NavItem('/admin/webhooks', 'nav.webhooks', 'report', Role.ADMIN, group=ADMIN_GROUP),
    NavItem('/admin/sessions', 'nav.sessions', 'qr_code_2', Role.ADMIN, group=ADMIN_GROUP),
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
    change_password: ChangePassword | None = None,
) -> Iterator[ui.column]:
    """`header_tools` builds what goes next to the user's name (the admins' alerts bell)."""
    branch_names = {branch.id: f'{branch.code} · {branch.name}' for branch in branches}
    _quasar_language()
    items = [
        item
        for item in NAV_ITEMS
        if viewer.has_role(item.minimum_role) and (simulator_enabled or not item.needs_simulator)
    ]
    # ONE line of header at any width (a second line pushed the console's composer off the screen): the pages'
    # names show when there is room for all of them, else their icons (the name in a tooltip); the page the user
    # is on always keeps its name.
    names_hidden_below = NAMES_HIDDEN_FEW if len(items) <= FEW_ITEMS else NAMES_HIDDEN_MANY
    with ui.header().classes('items-center no-wrap gap-2 px-3 py-1 bg-slate-800 text-white').mark('app-header'):
        # Below 1024 px the pages' buttons need the room (an admin has eleven); the window's title says LeadMaster.
        ui.label(t('app.name')).classes('text-lg font-bold max-lg:hidden')
        with ui.row().classes('gap-0 no-wrap min-w-0'):
            groups: dict[str, list[NavItem]] = {}
            for item in items:
                if item.group is not None:
                    groups.setdefault(item.group, []).append(item)
            for item in items:
                if item.group is None:
                    _nav_button(item, active=item.path == active_path, names_hidden_below=names_hidden_below)
                elif groups[item.group][0] is item:  # the group's button where its first page would be
                    _nav_group(item.group, groups[item.group], active_path, names_hidden_below)
        ui.space()
        if viewer.has_role(Role.MANAGER) and len(branches) > 1:
            options: dict[int | None, str] = {None: t('header.all_branches'), **branch_names}
            ui.select(
                options,
                value=selected_branch_id() if selected_branch_id() in options else None,
                on_change=_change_branch,
            ).props('dense dark outlined options-dense').classes('w-48 max-lg:w-36').mark('branch-selector')
        ui.select(
            {locale: locale.upper() for locale in LOCALES}, value=current_locale(), on_change=_change_locale
        ).props('dense dark borderless').mark('locale-selector')
        if header_tools is not None:
            header_tools()
        with ui.column().classes('gap-0 items-end max-lg:hidden'):
            ui.label(viewer.full_name).classes('text-sm font-medium').mark('viewer-name')
            home_branch = branch_names.get(viewer.branch_id, '') if viewer.branch_id else ''
            ui.label(' · '.join(filter(None, [t(f'role.{viewer.role}'), home_branch]))).classes(
                'text-xs opacity-80'
            ).mark('viewer-role')
        if change_password is not None:
            dialog = PasswordDialog(change_password)
            ui.button(icon='password', on_click=dialog.open).props('flat round color=white').tooltip(
                t('password.open')
            ).mark('change-password')
        ui.button(icon='logout', on_click=on_logout).props('flat round color=white').tooltip(t('nav.logout')).mark(
            'logout'
        )
    if full_height:
        _fit_to_window()
    # Full height: the inbox's three columns scroll on their own instead of the page.
    classes = 'w-full h-full min-h-0 p-0 gap-0 no-wrap' if full_height else 'w-full p-4 gap-4'
    with ui.column().classes(classes) as content:
        yield content


def _nav_button(item: NavItem, *, active: bool, names_hidden_below: str) -> None:
    with ui.button(icon=item.icon, on_click=lambda path=item.path: ui.navigate.to(path)).props(
        'flat no-caps no-wrap'  # icon and name on one line: a wrapped name made the header two lines tall
    ) as button:
        # (`max-…:hidden`, not `hidden lg:inline`: Quasar's `.hidden` is `!important`)
        ui.label(t(item.label_key)).classes('ml-2' if active else f'ml-2 {names_hidden_below}')
    button.classes('text-white px-2' + (' bg-slate-600' if active else ''))
    button.props['aria-label'] = t(item.label_key)
    if not active:
        button.tooltip(t(item.label_key))
    button.mark(f'nav-{item.path}')


def _nav_group(label_key: str, members: list[NavItem], active_path: str, names_hidden_below: str) -> None:
    """One header button whose menu lists the group's pages; it shows the current page's name when it is one."""
    current = next((item for item in NAV_ITEMS if item.group == label_key and item.path == active_path), None)
    icon = current.icon if current else 'admin_panel_settings'
    # The group's name, or its current page's, only where the header has room: on a tablet the page's own title
    # says where one is, and a wrapped label made the header two lines tall.
    with ui.button(icon=icon).props('flat no-caps no-wrap') as button:
        ui.label(t(current.label_key) if current else t(label_key)).classes(f'ml-2 {names_hidden_below}')
        ui.icon('arrow_drop_down')
        with ui.menu().mark('nav-admin-menu'):
            for item in members:
                with ui.item(on_click=lambda path=item.path: ui.navigate.to(path)).mark(f'nav-{item.path}'):
                    with ui.item_section().props('avatar'):
                        ui.icon(item.icon)
                    ui.item_section(t(item.label_key))
    button.classes('text-white px-2' + (' bg-slate-600' if current else ''))
    button.props['aria-label'] = t(label_key)
    button.mark('nav-admin')


# Below which width the header shows the pages' icons only: an agent's few pages fit with their names from 1024 px,
# an admin's eight from 1600 px.
FEW_ITEMS = 5
NAMES_HIDDEN_FEW = 'max-lg:hidden'
NAMES_HIDDEN_MANY = 'max-[1599px]:hidden'
# Quasar's language pack for each UI locale (its tables' "Rows per page", its date pickers' months).
QUASAR_LANGUAGES = {'es': 'es', 'en': 'en-US'}
# Quasar passes a page's style function the header's height as `offset`; its default sets only a MIN height, so a
# page whose content was taller grew past the window (and the console's composer fell below the fold).
PAGE_STYLE_FN = "(offset, height) => ({ height: (height - offset) + 'px' })"


def _fit_to_window() -> None:
    """The page exactly as tall as the window below the header, whatever the header's height."""
    client = ui.context.client
    slot = client.content.parent_slot
    if slot is not None:
        slot.parent.props[':style-fn'] = PAGE_STYLE_FN
    client.content.style('padding: 0; gap: 0; height: 100%')


def _quasar_language() -> None:
    """Quasar's own words in the user's language: the app loads the default locale's pack; a user who chose the
    other locale gets hers loaded and set in her page."""
    wanted = QUASAR_LANGUAGES[current_locale()]
    if wanted == QUASAR_LANGUAGES[default_locale()]:
        return
    source = f'/_nicegui/{nicegui.__version__}/static/lang/{wanted}.umd.prod.js'
    name = wanted.replace('-', '')
    ui.run_javascript(
        '(() => {'
        f' const set = () => Quasar.lang.set(Quasar.lang.{name});'
        f' if (Quasar.lang.{name}) {{ set(); return; }}'
        f' const script = document.createElement("script"); script.src = "{source}"; script.onload = set;'
        ' document.head.appendChild(script);'
        '})()'
    )


def _change_branch(event: object) -> None:
    app.storage.user['branch_id'] = getattr(event, 'value', None)
    ui.navigate.reload()


def _change_locale(event: object) -> None:
    app.storage.user['locale'] = getattr(event, 'value', None)
    ui.navigate.reload()
