"""Admin pages: branches with their numbers, and users. Managers see their own branch only."""

from __future__ import annotations

from datetime import datetime

from nicegui import ui

from app.pages.guard import signed_in_page
from app.runtime import runtime
from app.settings import Settings
from components.i18n import local_time, t
from services import branches, users
from services.access import Viewer
from services.backups import read_status
from services.models import DeliveryStatus, Role
from services.whatsapp import journal, outbox


@signed_in_page('/admin/branches', minimum_role=Role.MANAGER, title_key='nav.branches')
async def branches_page(viewer: Viewer) -> None:
    db = runtime().db
    ui.label(t('branches.title')).classes('text-xl font-semibold')
    numbers_by_branch: dict[int, list[str]] = {}
    for number, branch in await branches.list_numbers(db, viewer=viewer):
        numbers_by_branch.setdefault(branch.id or 0, []).append(
            f'{number.display_phone} ({number.label or number.phone_number_id}, {number.channel})'
        )
    columns = [
        {'name': 'code', 'label': t('branches.code'), 'field': 'code', 'align': 'left'},
        {'name': 'name', 'label': t('branches.name'), 'field': 'name', 'align': 'left'},
        {'name': 'city', 'label': t('branches.city'), 'field': 'city', 'align': 'left'},
        {'name': 'numbers', 'label': t('branches.numbers'), 'field': 'numbers', 'align': 'left'},
    ]
    ui.table(
        columns=columns,
        row_key='code',
        rows=[
            {
                'code': branch.code,
                'name': branch.name,
                'city': branch.city,
                'numbers': ', '.join(numbers_by_branch.get(branch.id or 0, [])),
            }
            for branch in await branches.list_branches(db, viewer=viewer)
        ],
    ).classes('w-full').mark('branches-table')


@signed_in_page('/admin/users', minimum_role=Role.MANAGER, title_key='nav.users')
async def users_page(viewer: Viewer) -> None:
    ui.label(t('users.title')).classes('text-xl font-semibold')
    columns = [
        {'name': 'username', 'label': t('users.username'), 'field': 'username', 'align': 'left'},
        {'name': 'name', 'label': t('users.name'), 'field': 'name', 'align': 'left'},
        {'name': 'role', 'label': t('users.role'), 'field': 'role', 'align': 'left'},
        {'name': 'branch', 'label': t('users.branch'), 'field': 'branch', 'align': 'left'},
        {'name': 'active', 'label': t('users.active'), 'field': 'active'},
    ]
    ui.table(
        columns=columns,
        row_key='username',
        rows=[
            {
                'username': user.username,
                'name': user.full_name,
                'role': t(f'role.{user.role}'),
                'branch': branch.code if branch else t('common.none'),
                'active': t('common.yes') if user.active else t('common.no'),
            }
            for user, branch in await users.list_users(runtime().db, viewer=viewer)
        ],
    ).classes('w-full').mark('users-table')


@signed_in_page('/admin/webhooks', minimum_role=Role.ADMIN, title_key='nav.webhooks')
async def webhooks_page(viewer: Viewer) -> None:
    """Dead letters (for numbers no branch owns, or that could not be stored) and deliveries that failed or looked
    odd (M1). Bodies are never shown: a dead letter's error says what went wrong, its raw JSON stays in the database."""
    db = runtime().db
    backup_line(runtime().settings)  # issue 21: not a webhook matter, but this is the admins' operations page
    ui.label(t('webhooks.dead_letters')).classes('text-xl font-semibold')
    ui.label(t('webhooks.dead_letters_help')).classes('text-sm text-slate-500')
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
