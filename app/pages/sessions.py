"""`/admin/sessions` (SPEC M6): the WhatsApp-Web sessions per branch, live. A state change anywhere (a webhook, a
probe, another admin's click) redraws that session's card through the event bus."""

from __future__ import annotations

from nicegui import ui
from nicegui.client import Client

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.i18n import t
from components.notify import Notifier
from components.sessions.session_card import SessionCard, state_text
from services import branches
from services.access import Viewer
from services.errors import ServiceError
from services.events import Event
from services.models import Role, SessionState
from services.sessions import service
from services.sessions.service import SESSION_STATE


@signed_in_page('/admin/sessions', minimum_role=Role.ADMIN, title_key='nav.sessions')
async def sessions_page(viewer: Viewer) -> None:
    db = runtime().db
    control = runtime().workers.sessions
    notify = Notifier()
    client: Client = notify.client
    ui.label(t('sessions.title')).classes('text-xl font-semibold')
    ui.label(t('sessions.intro')).classes('text-sm text-slate-500 max-w-[56rem]')
    names = {branch.id: branch.name for branch in await branches.list_branches(db, viewer=viewer)}
    sessions = await service.list_sessions(db, viewer=viewer)
    if not sessions:
        ui.label(t('sessions.none')).mark('sessions-none')
        return

    async def act(name: str, action: str) -> None:
        try:
            await getattr(control, action)(name=name, actor=viewer)
        except ServiceError as exc:
            notify(t('sessions.failed', error=str(exc)), type='negative')
            return
        await redraw(name)  # the chip says where it went; its state changes come as toasts of their own

    async def allow(name: str, allowed: bool) -> None:
        try:
            await service.allow_sending(db, name=name, allowed=allowed, actor=viewer)
        except ServiceError as exc:
            notify(t('sessions.failed', error=str(exc)), type='negative')
            return
        notify(t('sessions.allow_send_on' if allowed else 'sessions.allow_send_off', session=name), type='info')
        await redraw(name)

    async def qr(name: str) -> bytes | None:
        try:
            return await control.qr_png(name=name, viewer=viewer)
        except ServiceError:
            return None  # the state moved on: the card is redrawn by its event

    cards: dict[str, SessionCard] = {}
    with ui.column().classes('w-full gap-3').mark('sessions-list'):
        for current in sessions:
            card = SessionCard(
                current,
                branch_name=names.get(current.branch_id, ''),
                act=act,
                allow=allow,
                qr=qr,
                history=lambda name: service.session_history(db, name=name, viewer=viewer),
                uptime=lambda name: service.daily_uptime(db, name=name, viewer=viewer),
            )
            cards[current.name] = card
            await card.show(current)

    async def redraw(name: str) -> None:
        if (card := cards.get(name)) is None or client.id not in Client.instances:
            return
        current = await service.get_session(db, name=name, viewer=viewer)
        with client.layout:
            await card.show(current)

    async def on_event(event: Event) -> None:
        name = event.data.get('name', '')
        if name not in cards or client.id not in Client.instances:
            return
        await redraw(name)
        if event.data.get('state') != SessionState.INITIALIZING:  # a passing state: the chip is enough
            notify(t('sessions.changed', session=name, state=state_text(event.data.get('state', ''))), type='info')

    async def resync() -> None:
        for name in list(cards):
            await redraw(name)

    branch_ids = None if viewer.sees_all_branches else viewer.branch_ids
    subscription = runtime().bus.subscribe(on_event, branch_ids=branch_ids, kinds=[SESSION_STATE], on_gap=resync)
    client.on_delete(lambda: runtime().bus.unsubscribe(subscription))
