"""Admin pages (B1, B4): branches with their numbers, and users, created and edited from the browser; the webhooks
page. Managers see their own branch only, and administer its agents; every rule is the services' (a `Viewer`)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from nicegui import ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from app.settings import Settings
from components.admin.form import FormField, RecordForm, error_text
from components.i18n import local_time, t
from services import auth, branches, users
from services.access import Viewer
from services.backups import read_status
from services.errors import NotFound, ServiceError
from services.models import Branch, BranchCreate, DeliveryStatus, Role, UserCreate
from services.whatsapp import journal, outbox


@signed_in_page('/admin/branches', minimum_role=Role.MANAGER, title_key='nav.branches')
async def branches_page(viewer: Viewer) -> None:
    """Every branch with its numbers; admins create one below and open a row to edit or deactivate it. A manager
    sees their own branch, read only."""
    db = runtime().db
    ui.label(t('branches.title')).classes('text-xl font-semibold')

    async def rows() -> list[dict[str, object]]:
        numbers_by_branch: dict[int, list[str]] = {}
        for number, branch in await branches.list_numbers(db, viewer=viewer):
            numbers_by_branch.setdefault(branch.id or 0, []).append(
                f'{number.display_phone} ({number.label or number.phone_number_id}, {number.channel})'
            )
        return [
            {
                'id': branch.id,
                'code': branch.code,
                'name': branch.name,
                'city': branch.city,
                'numbers': ', '.join(numbers_by_branch.get(branch.id or 0, [])),
                'active': t('common.yes') if branch.active else t('common.no'),
            }
            for branch in await branches.list_branches(db, viewer=viewer)
        ]

    columns = [
        {'name': 'code', 'label': t('branches.code'), 'field': 'code', 'align': 'left'},
        {'name': 'name', 'label': t('branches.name'), 'field': 'name', 'align': 'left'},
        {'name': 'city', 'label': t('branches.city'), 'field': 'city', 'align': 'left'},
        # A branch with many numbers wraps them rather than pushing the table past a tablet's width.
        {
            'name': 'numbers',
            'label': t('branches.numbers'),
            'field': 'numbers',
            'align': 'left',
            'classes': 'whitespace-normal',
            'style': 'min-width: 14rem',
        },
        {'name': 'active', 'label': t('users.active'), 'field': 'active'},
    ]
    table = ui.table(columns=columns, row_key='code', rows=await rows()).classes('w-full').mark('branches-table')
    if not viewer.has_role(Role.ADMIN):
        return
    table.classes('cursor-pointer')
    table.on('rowClick', lambda e: ui.navigate.to(f'/admin/branches/{int(e.args[1]["id"])}'))

    async def create(values: dict[str, Any]) -> None:
        branch = await branches.create_branch(
            db,
            branch_in=BranchCreate(
                code=values['code'] or '',
                name=values['name'] or '',
                city=(values['city'] or '').strip(),
                address=(values['address'] or '').strip(),
            ),
            actor=viewer,
        )
        table.rows = await rows()
        table.update()
        form.clear('code', 'name', 'city', 'address')
        ui.notify(t('admin.branches.created', code=branch.code), type='positive')

    ui.label(t('admin.branches.new')).classes('text-lg font-semibold mt-4')
    form = RecordForm(
        [
            FormField('code', t('branches.code'), hint=t('admin.branches.code_hint')),
            FormField('name', t('branches.name')),
            FormField('city', t('branches.city')),
            FormField('address', t('admin.branches.address')),
        ],
        prefix='branch',
        save_label=t('admin.create'),
        on_save=create,
    )


@signed_in_page('/admin/branches/{branch_id}', minimum_role=Role.ADMIN, title_key='nav.branches')
async def branch_edit_page(viewer: Viewer, branch_id: int) -> None:
    db = runtime().db
    try:
        branch = await branches.get_branch(db, branch_id=branch_id, viewer=viewer)
    except NotFound:
        ui.label(t('admin.error.not_found')).mark('not-found')
        return
    back_link('/admin/branches', t('nav.branches'))
    ui.label(t('admin.branches.edit', code=branch.code)).classes('text-xl font-semibold').mark('record-title')

    async def save(values: dict[str, Any]) -> None:
        await branches.update_branch(
            db,
            branch_id=branch_id,
            changes=branches.BranchChanges(
                name=values['name'] or '',
                city=values['city'] or '',
                address=values['address'] or '',
                active=bool(values['active']),
            ),
            actor=viewer,
        )
        ui.notify(t('admin.saved'), type='positive')
        ui.navigate.to('/admin/branches')

    RecordForm(
        [
            FormField('name', t('branches.name'), value=branch.name),
            FormField('city', t('branches.city'), value=branch.city),
            FormField('address', t('admin.branches.address'), value=branch.address),
            FormField('active', t('admin.branches.active'), kind='switch', value=branch.active),
        ],
        prefix='branch',
        save_label=t('admin.save'),
        on_save=save,
    )


def _branch_options(all_branches: list[Branch]) -> dict[int, str]:
    """Active branches only: nobody is put in a branch that was closed."""
    return {branch.id or 0: f'{branch.code} · {branch.name}' for branch in all_branches if branch.active}


def _role_options(viewer: Viewer) -> dict[str, str]:
    roles = list(Role) if viewer.has_role(Role.ADMIN) else [Role.AGENT]  # a manager never promotes anyone
    return {str(role): t(f'role.{role}') for role in roles}


def _capacity(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0  # refused by the service with its own message


@signed_in_page('/admin/users', minimum_role=Role.MANAGER, title_key='nav.users')
async def users_page(viewer: Viewer) -> None:
    """The users the viewer administers (a manager: their branch), a form to add one; a row opens the user."""
    db = runtime().db
    ui.label(t('users.title')).classes('text-xl font-semibold')

    async def rows() -> list[dict[str, object]]:
        listed = await users.list_users(db, viewer=viewer)
        locked = await auth.locked_usernames(db, usernames=[user.username for user, _ in listed])
        return [
            {
                'id': user.id,
                'username': user.username,
                'name': user.full_name,
                'role': t(f'role.{user.role}'),
                'branch': branch.code if branch else t('common.none'),
                'capacity': user.capacity,
                'active': t('common.yes') if user.active else t('common.no'),
                'locked': t('admin.users.locked_until', time=local_time(locked[user.username], '%H:%M'))
                if user.username in locked
                else '',
            }
            for user, branch in listed
        ]

    columns = [
        {'name': 'username', 'label': t('users.username'), 'field': 'username', 'align': 'left'},
        {'name': 'name', 'label': t('users.name'), 'field': 'name', 'align': 'left'},
        {'name': 'role', 'label': t('users.role'), 'field': 'role', 'align': 'left'},
        {'name': 'branch', 'label': t('users.branch'), 'field': 'branch', 'align': 'left'},
        {'name': 'capacity', 'label': t('admin.users.capacity'), 'field': 'capacity'},
        {'name': 'active', 'label': t('users.active'), 'field': 'active'},
        {'name': 'locked', 'label': t('admin.users.lock'), 'field': 'locked', 'align': 'left'},
    ]
    table = (
        ui.table(columns=columns, row_key='username', rows=await rows())
        .classes('w-full cursor-pointer')
        .mark('users-table')
    )
    table.on('rowClick', lambda e: ui.navigate.to(f'/admin/users/{int(e.args[1]["id"])}'))
    ui.label(t('admin.users.open_hint')).classes('text-sm text-slate-500')

    visible = _branch_options(await branches.list_branches(db, viewer=viewer))
    one_time = ui.label('').classes('font-mono text-lg bg-amber-50 p-2 rounded').mark('one-time-password')
    one_time.set_visibility(False)

    async def create(values: dict[str, Any]) -> None:
        chosen = (values['password'] or '').strip()
        password = chosen or secrets.token_urlsafe(9)
        role = Role(values['role'] or Role.AGENT)
        user = await users.create_user(
            db,
            user_in=UserCreate.model_construct(
                username=values['username'] or '',
                full_name=values['full_name'] or '',
                role=role,
                branch_id=None if role == Role.ADMIN else values['branch_id'],
                capacity=_capacity(values['capacity']),
                password=password,
                locale='es',
                active=True,
                commission_rate=None,
            ),
            actor=viewer,
        )
        table.rows = await rows()
        table.update()
        form.clear('username', 'full_name', 'password')
        ui.notify(t('admin.users.created', username=user.username), type='positive')
        one_time.set_visibility(not chosen)
        one_time.set_text(
            t('admin.users.password_once', username=user.username, password=password) if not chosen else ''
        )

    ui.label(t('admin.users.new')).classes('text-lg font-semibold mt-4')
    form = RecordForm(
        [
            FormField('username', t('users.username'), hint=t('admin.users.username_hint')),
            FormField('full_name', t('users.name')),
            FormField('role', t('users.role'), kind='select', value=str(Role.AGENT), options=_role_options(viewer)),
            FormField(
                'branch_id',
                t('users.branch'),
                kind='select',
                value=viewer.branch_id if viewer.branch_id in visible else None,
                options=visible,
            ),
            FormField(
                'capacity', t('admin.users.capacity'), kind='number', value=8, hint=t('admin.users.capacity_hint')
            ),
            FormField('password', t('admin.users.password'), kind='password', hint=t('admin.users.password_hint')),
        ],
        prefix='user',
        save_label=t('admin.create'),
        on_save=create,
    )


@signed_in_page('/admin/users/{user_id}', minimum_role=Role.MANAGER, title_key='nav.users')
async def user_edit_page(viewer: Viewer, user_id: int) -> None:
    """One user: edit, deactivate, reset the password (shown once), unlock after failed logins."""
    db = runtime().db
    try:
        user = await users.get_user(db, user_id=user_id, viewer=viewer)
    except NotFound:
        ui.label(t('admin.error.not_found')).mark('not-found')
        return
    back_link('/admin/users', t('nav.users'))
    ui.label(t('admin.users.edit', username=user.username)).classes('text-xl font-semibold').mark('record-title')
    visible = _branch_options(await branches.list_branches(db, viewer=viewer))
    if user.branch_id is not None and user.branch_id not in visible:  # a closed branch still shows as theirs
        visible[user.branch_id] = str(user.branch_id)

    async def save(values: dict[str, Any]) -> None:
        role = Role(values['role'] or user.role)
        await users.update_user(
            db,
            user_id=user_id,
            changes=users.UserChanges(
                full_name=values['full_name'] or '',
                role=role,
                branch_id=None if role == Role.ADMIN else values['branch_id'],
                capacity=_capacity(values['capacity']),
                active=bool(values['active']),
            ),
            actor=viewer,
        )
        ui.notify(t('admin.saved'), type='positive')
        ui.navigate.to('/admin/users')

    RecordForm(
        [
            FormField('full_name', t('users.name'), value=user.full_name),
            FormField('role', t('users.role'), kind='select', value=str(user.role), options=_role_options(viewer)),
            FormField('branch_id', t('users.branch'), kind='select', value=user.branch_id, options=visible),
            FormField('capacity', t('admin.users.capacity'), kind='number', value=user.capacity),
            FormField('active', t('admin.users.active_switch'), kind='switch', value=user.active),
        ],
        prefix='user',
        save_label=t('admin.save'),
        on_save=save,
    )

    ui.separator().classes('my-4')
    one_time = ui.label('').classes('font-mono text-lg bg-amber-50 p-2 rounded').mark('one-time-password')
    one_time.set_visibility(False)
    status = ui.label('').classes('text-sm').mark('user-status')
    status.set_visibility(False)

    async def reset() -> None:
        try:
            password = await users.reset_password(db, user_id=user_id, actor=viewer)
        except ServiceError as exc:
            ui.notify(error_text(exc), type='negative')
            return
        one_time.set_text(t('admin.users.password_once', username=user.username, password=password))
        one_time.set_visibility(True)

    async def unlock() -> None:
        try:
            await users.unlock(db, user_id=user_id, actor=viewer)
        except ServiceError as exc:
            ui.notify(error_text(exc), type='negative')
            return
        status.set_text(t('admin.users.unlocked', username=user.username))
        status.set_visibility(True)
        unlock_button.set_visibility(False)

    with ui.row().classes('gap-2'):
        ui.button(t('admin.users.reset_password'), icon='password', on_click=reset).props('outline').mark(
            'reset-password'
        )
        locked = await auth.locked_usernames(db, usernames=[user.username])
        unlock_button = (
            ui.button(t('admin.users.unlock'), icon='lock_open', on_click=unlock).props('outline').mark('unlock-user')
        )
        unlock_button.set_visibility(user.username in locked)
    if user.username in locked:
        ui.label(t('admin.users.locked_until', time=local_time(locked[user.username], '%H:%M'))).classes(
            'text-sm text-red-700'
        ).mark('locked-until')


def back_link(path: str, label: str) -> None:
    ui.link(f'← {label}', path).classes('text-sm').mark('back-link')


@signed_in_page('/admin/webhooks', minimum_role=Role.ADMIN, title_key='nav.webhooks')
async def webhooks_page(viewer: Viewer) -> None:
    """Dead letters (for numbers no branch owns, or that could not be stored) and deliveries that failed or looked
    odd (M1). Bodies are never shown: a dead letter's error says what went wrong, its raw JSON stays in the database."""
    db = runtime().db
    backup_line(runtime().settings)  # issue 21: not a webhook matter, but this is the admins' operations page
    ui.label(t('webhooks.dead_letters')).classes('text-xl font-semibold')
    ui.label(t('webhooks.dead_letters_help')).classes('text-sm text-slate-500')
    ui.link(t('admin.webhooks.add_number'), '/admin/numbers').classes('text-sm').mark('add-number-link')
    ui.table(
        columns=[
            {'name': 'kind', 'label': t('webhooks.kind'), 'field': 'kind', 'align': 'left'},
            {'name': 'phone_number_id', 'label': 'phone_number_id', 'field': 'phone_number_id', 'align': 'left'},
            {'name': 'display', 'label': t('webhooks.display'), 'field': 'display', 'align': 'left'},
            {'name': 'messages', 'label': t('webhooks.messages'), 'field': 'messages'},
            {'name': 'statuses', 'label': t('webhooks.statuses'), 'field': 'statuses'},
            {'name': 'error', 'label': t('webhooks.error'), 'field': 'error', 'align': 'left'},
            {'name': 'when', 'label': t('conversations.when'), 'field': 'when'},
        ],
        row_key='id',
        rows=[
            {
                'id': letter.id,
                'kind': t(f'webhooks.kind.{letter.kind}'),
                'phone_number_id': letter.phone_number_id,
                'display': letter.display_phone_number,
                'messages': letter.message_count,
                'statuses': letter.status_count,
                'error': letter.error[:300],
                'when': local_time(letter.created_at),
            }
            for letter in await journal.list_dead_letters(db)
        ],
    ).classes('w-full').mark('dead-letters-table')

    ui.label(t('webhooks.problems')).classes('text-xl font-semibold mt-4')
    ui.table(
        columns=[
            {'name': 'id', 'label': '#', 'field': 'id'},
            {'name': 'status', 'label': t('webhooks.status'), 'field': 'status', 'align': 'left'},
            {'name': 'error', 'label': t('webhooks.error'), 'field': 'error', 'align': 'left'},
            {'name': 'when', 'label': t('conversations.when'), 'field': 'when'},
        ],
        row_key='id',
        rows=[
            {
                'id': delivery.id,
                'status': delivery.status,
                'error': delivery.error[:300],
                'when': local_time(delivery.received_at),
            }
            for delivery in await journal.list_deliveries(db, statuses=[DeliveryStatus.FAILED, DeliveryStatus.FLAGGED])
        ],
    ).classes('w-full').mark('problem-deliveries-table')

    async def replay() -> None:
        count = await journal.requeue_for_replay(db, include_dead_letters=True, actor=viewer)
        runtime().bus.publish_nowait([journal.journaled_event()])  # the ingest may run in a worker process
        ui.notify(t('webhooks.replayed', count=count), type='positive')

    ui.button(t('webhooks.replay'), icon='replay', on_click=replay).mark('replay-webhooks')

    # F5: replies whose send was interrupted; an agent (or the admin) opens the conversation and sends again.
    ui.label(t('webhooks.unconfirmed')).classes('text-xl font-semibold mt-4')
    ui.label(t('webhooks.unconfirmed_help')).classes('text-sm text-slate-500')
    names = {branch.id: branch.code for branch in await branches.list_branches(db, viewer=viewer)}
    unconfirmed = (
        ui.table(
            columns=[
                {'name': 'contact', 'label': t('webhooks.contact'), 'field': 'contact', 'align': 'left'},
                {'name': 'branch', 'label': t('header.branch'), 'field': 'branch', 'align': 'left'},
                {'name': 'since', 'label': t('conversations.when'), 'field': 'since'},
            ],
            row_key='id',
            rows=[
                {
                    'id': send.message_id,
                    'conversation_id': send.conversation_id,
                    'contact': send.contact_name,
                    'branch': names.get(send.branch_id, ''),
                    'since': local_time(send.since),
                }
                for send in await outbox.list_unconfirmed(db, viewer=viewer)
            ],
        )
        .classes('w-full cursor-pointer')
        .mark('unconfirmed-table')
    )
    unconfirmed.on('rowClick', lambda e: ui.navigate.to(f'/?c={int(e.args[1]["conversation_id"])}'))


def backup_line(settings: Settings) -> None:
    """The last backup's outcome (var/backup_status.json), read-only; docs/operations.md § Backups says what to do."""
    status = read_status(settings.var_dir)
    if status is None:
        text = t('backups.none', hour=settings.backup_hour) if settings.backup_enabled else t('backups.off')
        ui.label(text).classes('text-sm text-slate-500').mark('backup-status')
        return
    when = local_time(datetime.fromisoformat(status['at']))
    if status['ok']:
        size = f'{(status.get("bytes") or 0) / 1e6:.1f}'
        ui.label(t('backups.ok', when=when, size=size)).classes('text-sm text-slate-600').mark('backup-status')
        return
    last = status.get('last_success_at')
    ui.label(
        t(
            'backups.failed',
            when=when,
            error=str(status.get('error') or '')[:300],
            last_success=local_time(datetime.fromisoformat(last)) if last else t('common.none'),
        )
    ).classes('text-sm text-red-700 font-semibold').mark('backup-status')
