"""Admin pages of the records agents send from and the system runs on (B1, B4; issue 15): WhatsApp numbers,
templates (with the sync from Meta), quick replies, API keys and the audit log. Managers reach templates and quick
replies of their own branch; the rest is the admins'. Every rule is enforced by the services with the `Viewer`."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from nicegui import ui

from app.pages.admin import back_link
from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.admin.form import FormField, RecordForm, error_text
from components.i18n import local_time, t
from services import api_keys, audit, branches
from services.access import Viewer
from services.errors import InvalidInput, NotFound, ServiceError
from services.models import Branch, ChannelKind, Role, TemplateStatus
from services.whatsapp import templates
from services.whatsapp.templates import CATEGORIES, CannedInput, TemplateChanges


def _branch_codes(all_branches: list[Branch]) -> dict[str, str]:
    return {branch.code: f'{branch.code} · {branch.name}' for branch in all_branches if branch.active}


def _branch_ids(all_branches: list[Branch]) -> dict[int, str]:
    return {branch.id or 0: f'{branch.code} · {branch.name}' for branch in all_branches if branch.active}


# --- numbers ------------------------------------------------------------------------------------------------


@signed_in_page('/admin/numbers', minimum_role=Role.ADMIN, title_key='nav.numbers')
async def numbers_page(viewer: Viewer) -> None:
    """The WhatsApp numbers and the branch each routes to; a form to add one; a row opens the number."""
    db = runtime().db
    ui.label(t('admin.numbers.title')).classes('text-xl font-semibold')
    ui.label(t('admin.numbers.intro')).classes('text-sm text-slate-500 max-w-[56rem]')

    async def rows() -> list[dict[str, object]]:
        return [
            {
                'id': number.id,
                'display': number.display_phone,
                'phone_number_id': number.phone_number_id,
                'channel': t(f'admin.channel.{number.channel}'),
                'label': number.label,
                'branch': branch.code,
                'waba_id': number.waba_id or '',
                'active': t('common.yes') if number.active else t('common.no'),
            }
            for number, branch in await branches.list_numbers(db, viewer=viewer)
        ]

    columns = [
        {'name': 'display', 'label': t('admin.numbers.display'), 'field': 'display', 'align': 'left'},
        {'name': 'phone_number_id', 'label': t('admin.numbers.phone_number_id'), 'field': 'phone_number_id'},
        {'name': 'channel', 'label': t('branches.channel'), 'field': 'channel', 'align': 'left'},
        {'name': 'label', 'label': t('admin.numbers.label'), 'field': 'label', 'align': 'left'},
        {'name': 'branch', 'label': t('users.branch'), 'field': 'branch', 'align': 'left'},
        # The WABA id matters to Meta's template sync, not to finding a number: a tablet gets it on the edit page.
        {
            'name': 'waba_id',
            'label': 'WABA',
            'field': 'waba_id',
            'align': 'left',
            'classes': 'max-lg:hidden',
            'headerClasses': 'max-lg:hidden',
        },
        {'name': 'active', 'label': t('users.active'), 'field': 'active'},
    ]
    table = (
        ui.table(columns=columns, row_key='id', rows=await rows())
        .classes('w-full cursor-pointer')
        .mark('numbers-table')
    )
    table.on('rowClick', lambda e: ui.navigate.to(f'/admin/numbers/{int(e.args[1]["id"])}'))

    async def create(values: dict[str, Any]) -> None:
        if not values['branch']:
            raise InvalidInput('a number routes to a branch', reason='branch_required')
        number = await branches.add_number(
            db,
            branch_code=values['branch'],
            channel=ChannelKind(values['channel'] or ChannelKind.CLOUD),
            phone_number_id=values['phone_number_id'] or '',
            display_phone=values['display_phone'] or '',
            label=values['label'] or '',
            waba_id=values['waba_id'] or None,
            actor=viewer,
        )
        table.rows = await rows()
        table.update()
        form.clear('phone_number_id', 'display_phone', 'label', 'waba_id')
        ui.notify(t('admin.numbers.created', number=number.display_phone), type='positive')

    ui.label(t('admin.numbers.new')).classes('text-lg font-semibold mt-4')
    form = RecordForm(
        [
            FormField(
                'channel',
                t('branches.channel'),
                kind='select',
                value=str(ChannelKind.CLOUD),
                options={str(kind): t(f'admin.channel.{kind}') for kind in ChannelKind},
            ),
            FormField('phone_number_id', t('admin.numbers.phone_number_id'), hint=t('admin.numbers.id_hint')),
            FormField('display_phone', t('admin.numbers.display'), hint=t('admin.numbers.display_hint')),
            FormField('label', t('admin.numbers.label')),
            FormField(
                'branch', t('users.branch'), kind='select', options=_branch_codes(await branches.list_branches(db))
            ),
            FormField('waba_id', t('admin.numbers.waba_id'), hint=t('admin.numbers.waba_hint')),
        ],
        prefix='number',
        save_label=t('admin.create'),
        on_save=create,
    )


@signed_in_page('/admin/numbers/{number_id}', minimum_role=Role.ADMIN, title_key='nav.numbers')
async def number_edit_page(viewer: Viewer, number_id: int) -> None:
    db = runtime().db
    try:
        number = await branches.get_number(db, number_id=number_id)
    except NotFound:
        ui.label(t('admin.error.not_found')).mark('not-found')
        return
    back_link('/admin/numbers', t('nav.numbers'))
    ui.label(t('admin.numbers.edit', number=number.display_phone, id=number.phone_number_id)).classes(
        'text-xl font-semibold'
    ).mark('record-title')
    ui.label(t('admin.numbers.fixed', channel=t(f'admin.channel.{number.channel}'))).classes('text-sm text-slate-500')
    options = _branch_ids(await branches.list_branches(db))
    options.setdefault(number.branch_id, str(number.branch_id))

    async def save(values: dict[str, Any]) -> None:
        if not values['branch_id']:
            raise InvalidInput('a number routes to a branch', reason='branch_required')
        await branches.update_number(
            db,
            number_id=number_id,
            changes=branches.NumberChanges(
                branch_id=int(values['branch_id']),
                display_phone=values['display_phone'] or '',
                label=values['label'] or '',
                waba_id=values['waba_id'] or None,
                active=bool(values['active']),
            ),
            actor=viewer,
        )
        ui.notify(t('admin.saved'), type='positive')
        ui.navigate.to('/admin/numbers')

    RecordForm(
        [
            FormField('display_phone', t('admin.numbers.display'), value=number.display_phone),
            FormField('label', t('admin.numbers.label'), value=number.label),
            FormField('branch_id', t('users.branch'), kind='select', value=number.branch_id, options=options),
            FormField('waba_id', t('admin.numbers.waba_id'), value=number.waba_id or ''),
            FormField('active', t('admin.numbers.active'), kind='switch', value=number.active),
        ],
        prefix='number',
        save_label=t('admin.save'),
        on_save=save,
    )


# --- templates ----------------------------------------------------------------------------------------------


def _status_options() -> dict[str, str]:
    return {str(status): t(f'admin.templates.status.{status}') for status in TemplateStatus}


@signed_in_page('/admin/templates', minimum_role=Role.MANAGER, title_key='nav.templates')
async def templates_page(viewer: Viewer) -> None:
    """Templates per number (what may be sent after 24 h); a form to register one; with a Cloud API token, the sync
    from Meta. A manager sees and manages their branch's numbers' templates."""
    db = runtime().db
    settings = runtime().settings
    ui.label(t('admin.templates.title')).classes('text-xl font-semibold')
    ui.label(t('admin.templates.intro')).classes('text-sm text-slate-500 max-w-[56rem]')
    numbers = await branches.list_numbers(db, viewer=viewer)
    number_options = {
        number.id or 0: f'{number.display_phone} · {number.label or number.phone_number_id} ({branch.code})'
        for number, branch in numbers
        if number.active
    }

    async def rows() -> list[dict[str, object]]:
        return [
            {
                'id': template.id,
                'number': number.display_phone,
                'name': template.name,
                'language': template.language,
                'category': template.category,
                'status': t(f'admin.templates.status.{template.status}'),
                'variables': template.variable_count,
            }
            for template, number in await templates.list_templates(db, viewer=viewer)
        ]

    columns = [
        {'name': 'number', 'label': t('admin.templates.number'), 'field': 'number', 'align': 'left'},
        {'name': 'name', 'label': t('branches.name'), 'field': 'name', 'align': 'left'},
        {'name': 'language', 'label': t('admin.templates.language'), 'field': 'language', 'align': 'left'},
        {'name': 'category', 'label': t('admin.templates.category'), 'field': 'category', 'align': 'left'},
        {'name': 'status', 'label': t('admin.templates.status'), 'field': 'status', 'align': 'left'},
        {'name': 'variables', 'label': t('admin.templates.variables'), 'field': 'variables'},
    ]
    table = (
        ui.table(columns=columns, row_key='id', rows=await rows())
        .classes('w-full cursor-pointer')
        .mark('templates-table')
    )
    table.on('rowClick', lambda e: ui.navigate.to(f'/admin/templates/{int(e.args[1]["id"])}'))

    syncable = {
        number.id or 0: f'{number.display_phone} · WABA {number.waba_id}'
        for number, _ in numbers
        if number.channel == ChannelKind.CLOUD and number.waba_id and number.active
    }
    if settings.whatsapp_token is not None and syncable:
        token = settings.whatsapp_token.get_secret_value()
        with ui.row().classes('items-center gap-2 mt-2'):
            sync_number = ui.select(syncable, value=next(iter(syncable)), label=t('admin.templates.number')).mark(
                'sync-number'
            )
            sync_result = ui.label('').classes('text-sm').mark('sync-result')

            async def sync() -> None:
                try:
                    outcome = await templates.sync_templates(
                        db,
                        number_id=int(sync_number.value),
                        graph_api_base=settings.effective_graph_api_base,
                        token=token,
                        actor=viewer,
                    )
                except ServiceError as exc:
                    sync_result.set_text(error_text(exc))
                    sync_result.classes(replace='text-sm text-red-700')
                    return
                table.rows = await rows()
                table.update()
                sync_result.set_text(
                    t('admin.templates.synced', added=outcome.added, updated=outcome.updated, same=outcome.unchanged)
                )
                sync_result.classes(replace='text-sm text-green-700')

            ui.button(t('admin.templates.sync'), icon='sync', on_click=sync).mark('sync-templates')

    async def create(values: dict[str, Any]) -> None:
        if not values['number_id']:
            raise InvalidInput('choose a number', reason='number_required')
        template = await templates.register_template(
            db,
            number_id=int(values['number_id']),
            name=(values['name'] or '').strip(),
            body=values['body'] or '',
            language=(values['language'] or '').strip(),
            category=values['category'] or 'UTILITY',
            status=TemplateStatus(values['status'] or TemplateStatus.APPROVED),
            actor=viewer,
        )
        table.rows = await rows()
        table.update()
        form.clear('name', 'body')
        ui.notify(t('admin.templates.created', name=template.name), type='positive')

    ui.label(t('admin.templates.new')).classes('text-lg font-semibold mt-4')
    form = RecordForm(
        [
            FormField(
                'number_id',
                t('admin.templates.number'),
                kind='select',
                value=next(iter(number_options), None),
                options=number_options,
            ),
            FormField('name', t('branches.name'), hint=t('admin.templates.name_hint')),
            FormField('language', t('admin.templates.language'), value='es_AR'),
            FormField(
                'category',
                t('admin.templates.category'),
                kind='select',
                value='UTILITY',
                options={category: category for category in CATEGORIES},
            ),
            FormField(
                'status',
                t('admin.templates.status'),
                kind='select',
                value=str(TemplateStatus.APPROVED),
                options=_status_options(),
            ),
            FormField('body', t('admin.templates.body'), kind='textarea', hint=t('admin.templates.body_hint')),
        ],
        prefix='template',
        save_label=t('admin.create'),
        on_save=create,
    )


@signed_in_page('/admin/templates/{template_id}', minimum_role=Role.MANAGER, title_key='nav.templates')
async def template_edit_page(viewer: Viewer, template_id: int) -> None:
    db = runtime().db
    try:
        template = await templates.get_template(db, template_id=template_id, viewer=viewer)
    except NotFound:
        ui.label(t('admin.error.not_found')).mark('not-found')
        return
    back_link('/admin/templates', t('nav.templates'))
    ui.label(t('admin.templates.edit', name=template.name, language=template.language)).classes(
        'text-xl font-semibold'
    ).mark('record-title')
    ui.label(t('admin.templates.pause_hint')).classes('text-sm text-slate-500')

    async def save(values: dict[str, Any]) -> None:
        await templates.update_template(
            db,
            template_id=template_id,
            changes=TemplateChanges(
                category=values['category'] or 'UTILITY',
                status=TemplateStatus(values['status'] or template.status),
                body=values['body'] or '',
            ),
            actor=viewer,
        )
        ui.notify(t('admin.saved'), type='positive')
        ui.navigate.to('/admin/templates')

    RecordForm(
        [
            FormField(
                'category',
                t('admin.templates.category'),
                kind='select',
                value=template.category if template.category in CATEGORIES else 'UTILITY',
                options={category: category for category in CATEGORIES},
            ),
            FormField(
                'status',
                t('admin.templates.status'),
                kind='select',
                value=str(template.status),
                options=_status_options(),
            ),
            FormField('body', t('admin.templates.body'), kind='textarea', value=template.body),
        ],
        prefix='template',
        save_label=t('admin.save'),
        on_save=save,
    )


# --- quick replies ------------------------------------------------------------------------------------------

_EVERY_BRANCH = 0  # the select's value for "every branch" (a select cannot hold None as an option key reliably)


def _canned_branch_options(viewer: Viewer, all_branches: list[Branch]) -> dict[int, str]:
    options = _branch_ids(all_branches)
    if viewer.has_role(Role.ADMIN):
        return {_EVERY_BRANCH: t('admin.canned.every_branch'), **options}
    return options


@signed_in_page('/admin/canned', minimum_role=Role.MANAGER, title_key='nav.canned')
async def canned_page(viewer: Viewer) -> None:
    """Quick replies agents insert with `/shortcut`, per branch or for every branch (admins)."""
    db = runtime().db
    ui.label(t('admin.canned.title')).classes('text-xl font-semibold')
    ui.label(t('admin.canned.intro')).classes('text-sm text-slate-500 max-w-[56rem]')

    async def rows() -> list[dict[str, object]]:
        return [
            {
                'id': canned.id,
                'shortcut': f'/{canned.shortcut}',
                'title': canned.title,
                'branch': branch.code if branch else t('admin.canned.every_branch'),
                'body': canned.body[:120],
            }
            for canned, branch in await templates.list_canned(db, viewer=viewer)
        ]

    columns = [
        {'name': 'shortcut', 'label': t('admin.canned.shortcut'), 'field': 'shortcut', 'align': 'left'},
        {'name': 'title', 'label': t('admin.canned.title_field'), 'field': 'title', 'align': 'left'},
        {'name': 'branch', 'label': t('users.branch'), 'field': 'branch', 'align': 'left'},
        {'name': 'body', 'label': t('admin.canned.body'), 'field': 'body', 'align': 'left'},
    ]
    table = (
        ui.table(columns=columns, row_key='id', rows=await rows()).classes('w-full cursor-pointer').mark('canned-table')
    )
    table.on('rowClick', lambda e: ui.navigate.to(f'/admin/canned/{int(e.args[1]["id"])}'))
    options = _canned_branch_options(viewer, await branches.list_branches(db, viewer=viewer))

    async def create(values: dict[str, Any]) -> None:
        canned = await templates.create_canned(db, canned_in=_canned_input(values), actor=viewer)
        table.rows = await rows()
        table.update()
        form.clear('shortcut', 'title', 'body')
        ui.notify(t('admin.canned.created', shortcut=canned.shortcut), type='positive')

    ui.label(t('admin.canned.new')).classes('text-lg font-semibold mt-4')
    form = RecordForm(
        _canned_fields(options, value=viewer.branch_id if viewer.branch_id in options else next(iter(options), None)),
        prefix='canned',
        save_label=t('admin.create'),
        on_save=create,
    )


def _canned_fields(
    options: dict[int, str], *, value: int | None, shortcut: str = '', title: str = '', body: str = ''
) -> list[FormField]:
    return [
        FormField('branch_id', t('users.branch'), kind='select', value=value, options=options),
        FormField('shortcut', t('admin.canned.shortcut'), value=shortcut, hint=t('admin.canned.shortcut_hint')),
        FormField('title', t('admin.canned.title_field'), value=title),
        FormField('body', t('admin.canned.body'), kind='textarea', value=body),
    ]


def _canned_input(values: dict[str, Any]) -> CannedInput:
    branch_id = values['branch_id']
    return CannedInput(
        branch_id=None if branch_id in (None, _EVERY_BRANCH) else int(branch_id),
        shortcut=values['shortcut'] or '',
        title=values['title'] or '',
        body=values['body'] or '',
    )


@signed_in_page('/admin/canned/{canned_id}', minimum_role=Role.MANAGER, title_key='nav.canned')
async def canned_edit_page(viewer: Viewer, canned_id: int) -> None:
    db = runtime().db
    try:
        canned = await templates.get_canned(db, canned_id=canned_id, viewer=viewer)
    except NotFound:
        ui.label(t('admin.error.not_found')).mark('not-found')
        return
    back_link('/admin/canned', t('nav.canned'))
    ui.label(t('admin.canned.edit', shortcut=canned.shortcut)).classes('text-xl font-semibold').mark('record-title')
    options = _canned_branch_options(viewer, await branches.list_branches(db, viewer=viewer))

    async def save(values: dict[str, Any]) -> None:
        await templates.update_canned(db, canned_id=canned_id, canned_in=_canned_input(values), actor=viewer)
        ui.notify(t('admin.saved'), type='positive')
        ui.navigate.to('/admin/canned')

    RecordForm(
        _canned_fields(
            options,
            value=canned.branch_id if canned.branch_id is not None else _EVERY_BRANCH,
            shortcut=canned.shortcut,
            title=canned.title,
            body=canned.body,
        ),
        prefix='canned',
        save_label=t('admin.save'),
        on_save=save,
    )

    async def delete() -> None:
        try:
            await templates.delete_canned(db, canned_id=canned_id, actor=viewer)
        except ServiceError as exc:
            ui.notify(error_text(exc), type='negative')
            return
        ui.navigate.to('/admin/canned')

    ui.button(t('admin.canned.delete'), icon='delete', on_click=delete).props('outline color=negative').classes(
        'mt-4'
    ).mark('delete-canned')


# --- API keys -----------------------------------------------------------------------------------------------


@signed_in_page('/admin/apikeys', minimum_role=Role.ADMIN, title_key='nav.apikeys')
async def apikeys_page(viewer: Viewer) -> None:
    """Keys of the HTTP API: created here (the key is shown once), revoked here; a branch key sees one branch."""
    db = runtime().db
    ui.label(t('admin.apikeys.title')).classes('text-xl font-semibold')
    ui.label(t('admin.apikeys.intro')).classes('text-sm text-slate-500 max-w-[56rem]')

    async def rows() -> list[dict[str, object]]:
        return [
            {
                'prefix': key.prefix,
                'name': key.name,
                'scope': branch.code if branch else t('admin.apikeys.all_branches'),
                'created': local_time(key.created_at, '%d/%m/%Y %H:%M'),
                'last_used': local_time(key.last_used_at, '%d/%m/%Y %H:%M'),
                'state': t('admin.apikeys.revoked') if key.revoked_at else t('admin.apikeys.active'),
            }
            for key, branch in await api_keys.list_api_keys(db, viewer=viewer)
        ]

    columns = [
        {'name': 'prefix', 'label': t('admin.apikeys.prefix'), 'field': 'prefix', 'align': 'left'},
        {'name': 'name', 'label': t('branches.name'), 'field': 'name', 'align': 'left'},
        {'name': 'scope', 'label': t('admin.apikeys.scope'), 'field': 'scope', 'align': 'left'},
        {'name': 'created', 'label': t('admin.apikeys.created_at'), 'field': 'created'},
        {'name': 'last_used', 'label': t('admin.apikeys.last_used'), 'field': 'last_used'},
        {'name': 'state', 'label': t('admin.apikeys.state'), 'field': 'state'},
    ]
    table = ui.table(columns=columns, row_key='prefix', rows=await rows()).classes('w-full').mark('apikeys-table')
    once = ui.label('').classes('font-mono text-base bg-amber-50 p-2 rounded break-all').mark('api-key-once')
    once.set_visibility(False)

    async def refresh() -> None:
        table.rows = await rows()
        table.update()
        revoke_select.set_options(_active_prefixes(table.rows))

    async def create(values: dict[str, Any]) -> None:
        scope = values['branch_id']
        _, plaintext = await api_keys.create_api_key(
            db,
            name=values['name'] or '',
            branch_id=None if scope in (None, _EVERY_BRANCH) else int(scope),
            actor=viewer,
        )
        form.clear('name')
        await refresh()
        once.set_text(t('admin.apikeys.once', api_key=plaintext))
        once.set_visibility(True)

    ui.label(t('admin.apikeys.new')).classes('text-lg font-semibold mt-4')
    branch_options = {_EVERY_BRANCH: t('admin.apikeys.all_branches'), **_branch_ids(await branches.list_branches(db))}
    form = RecordForm(
        [
            FormField('name', t('admin.apikeys.name'), hint=t('admin.apikeys.name_hint')),
            FormField(
                'branch_id', t('admin.apikeys.scope'), kind='select', value=_EVERY_BRANCH, options=branch_options
            ),
        ],
        prefix='apikey',
        save_label=t('admin.create'),
        on_save=create,
    )

    ui.label(t('admin.apikeys.revoke_title')).classes('text-lg font-semibold mt-4')
    with ui.row().classes('items-center gap-2'):
        revoke_select = ui.select(_active_prefixes(table.rows), label=t('admin.apikeys.prefix')).classes('w-64')
        revoke_select.mark('revoke-prefix')

        async def revoke() -> None:
            if not revoke_select.value:
                return
            prefix = str(revoke_select.value)
            if await api_keys.revoke_api_key(db, prefix=prefix, actor=viewer):
                ui.notify(t('admin.apikeys.revoked_notice', prefix=prefix), type='positive')
            revoke_select.value = None
            await refresh()

        ui.button(t('admin.apikeys.revoke'), icon='block', on_click=revoke).props('outline color=negative').mark(
            'revoke-key'
        )


def _active_prefixes(rows: list[dict[str, Any]]) -> dict[str, str]:
    active = t('admin.apikeys.active')
    return {str(row['prefix']): f'{row["prefix"]} · {row["name"]}' for row in rows if row['state'] == active}


# --- audit log ----------------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


def _parse_day(text: str | None) -> date | None:
    """dd/mm/yyyy, as staff in Argentina write a date; blank is no limit."""
    if not text or not text.strip():
        return None
    try:
        return datetime.strptime(text.strip(), '%d/%m/%Y').date()  # noqa: DTZ007 - a calendar day, no moment
    except ValueError as exc:
        raise InvalidInput(f'not a date: {text!r}', reason='date_format', value=text.strip()) from exc


@signed_in_page('/admin/audit', minimum_role=Role.ADMIN, title_key='nav.audit')
async def audit_page(viewer: Viewer) -> None:
    """Who did what, newest first, filtered by who, action, kind of record and dates; 50 a page. Never a message's
    text: what is written to the log carries none."""
    db = runtime().db
    ui.label(t('admin.audit.title')).classes('text-xl font-semibold')
    state: dict[str, Any] = {'page': 1, 'filters': audit.AuditFilter()}
    kinds = {'': t('admin.audit.any_kind'), **{kind: kind for kind in await audit.target_types(db)}}
    with ui.row().classes('items-end gap-2 flex-wrap'):
        actor = ui.input(t('admin.audit.actor')).mark('audit-actor')
        action = ui.input(t('admin.audit.action'), placeholder='user., login.').mark('audit-action')
        kind = ui.select(kinds, value='', label=t('admin.audit.kind')).classes('w-48').mark('audit-kind')
        since = ui.input(t('admin.audit.since'), placeholder='dd/mm/aaaa').mark('audit-since')
        until = ui.input(t('admin.audit.until'), placeholder='dd/mm/aaaa').mark('audit-until')
        # `apply` is defined below, with the table it fills.
        ui.button(t('admin.audit.filter'), icon='filter_alt', on_click=lambda: apply()).mark('audit-filter')  # noqa: PLW0108
    error = ui.label('').classes('text-sm text-red-700').mark('audit-error')
    error.set_visibility(False)

    columns = [
        {'name': 'at', 'label': t('conversations.when'), 'field': 'at', 'align': 'left'},
        {'name': 'actor', 'label': t('admin.audit.actor'), 'field': 'actor', 'align': 'left'},
        {'name': 'action', 'label': t('admin.audit.action'), 'field': 'action', 'align': 'left'},
        {'name': 'target', 'label': t('admin.audit.kind'), 'field': 'target', 'align': 'left'},
        {'name': 'details', 'label': t('admin.audit.details'), 'field': 'details', 'align': 'left'},
    ]
    table = ui.table(columns=columns, row_key='id', rows=[]).classes('w-full').mark('audit-table')
    table.props('hide-pagination :pagination="{rowsPerPage: 0}"')
    with ui.row().classes('items-center gap-2'):
        previous = ui.button(icon='chevron_left', on_click=lambda: turn(-1)).props('flat').mark('audit-previous')
        position = ui.label('').mark('audit-position')
        following = ui.button(icon='chevron_right', on_click=lambda: turn(1)).props('flat').mark('audit-next')

    async def show() -> None:
        result = await audit.list_entries(
            db, viewer=viewer, filters=state['filters'], page=state['page'], page_size=AUDIT_PAGE_SIZE
        )
        table.rows = [
            {
                'id': entry.id,
                'at': local_time(entry.at, '%d/%m/%Y %H:%M:%S'),
                'actor': entry.actor_label,
                'action': entry.action,
                'target': f'{entry.target_type} {entry.target_id}'.strip(),
                'details': json.dumps(entry.details, ensure_ascii=False, default=str)[:200] if entry.details else '',
            }
            for entry in result.entries
        ]
        table.update()
        position.set_text(t('admin.audit.position', page=result.page, pages=result.pages, total=result.total))
        previous.set_enabled(result.page > 1)
        following.set_enabled(result.page < result.pages)

    async def apply() -> None:
        try:
            filters = audit.AuditFilter(
                actor=actor.value or '',
                action=action.value or '',
                target_type=kind.value or '',
                since=_parse_day(since.value),
                until=_parse_day(until.value),
            )
        except ServiceError as exc:
            error.set_text(error_text(exc))
            error.set_visibility(True)
            return
        error.set_visibility(False)
        state['filters'], state['page'] = filters, 1
        await show()

    async def turn(step: int) -> None:
        state['page'] = max(1, state['page'] + step)
        await show()

    await show()
