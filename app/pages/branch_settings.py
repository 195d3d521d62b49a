"""`/admin/settings`: one branch's settings (B1, T2, T4, S3, A1/A2; issue 15). Admins pick any branch; a manager
edits their own (services/branch_settings.py enforces both, and keeps the LLM endpoint for admins)."""

from __future__ import annotations

from nicegui import ui
from pydantic import SecretStr

from app.pages.guard import signed_in_page
from app.runtime import runtime
from components.i18n import t
from components.settings.form import BranchSettingsForm, Defaults
from services import branch_settings, branches
from services.access import Viewer
from services.errors import NotFound, PermissionDenied, ServiceError
from services.models import Role
from services.secrets import keyring_for


@signed_in_page('/admin/settings', minimum_role=Role.MANAGER, title_key='nav.settings')
async def branch_settings_page(viewer: Viewer, branch: int | None = None) -> None:
    db = runtime().db
    settings = runtime().settings
    ui.label(t('settings.title')).classes('text-xl font-semibold')
    visible = [b for b in await branches.list_branches(db, viewer=viewer) if b.id is not None]
    editable = branch_settings.editable_branch_ids(viewer, [b.id for b in visible if b.id is not None])
    branch_id = branch if branch is not None else (editable[0] if editable else None)
    if branch_id is None:
        ui.label(t('settings.no_branch')).mark('settings-no-branch')
        return
    if viewer.has_role(Role.ADMIN):
        ui.select(
            {b.id: f'{b.code} · {b.name}' for b in visible},
            value=branch_id if branch_id in editable else None,
            label=t('settings.branch'),
            on_change=lambda event: ui.navigate.to(f'/admin/settings?branch={event.value}'),
        ).classes('w-80').mark('settings-branch')
    try:
        view = await branch_settings.get_branch_settings(db, viewer=viewer, branch_id=branch_id)
    except PermissionDenied:
        ui.label(t('settings.forbidden_branch')).mark('settings-forbidden')
        return
    except NotFound:  # a stale link to a branch that no longer exists
        ui.label(t('settings.no_branch')).mark('settings-no-branch')
        return
    if not viewer.has_role(Role.ADMIN):
        ui.label(f'{view.code} · {view.name}').classes('text-lg').mark('settings-branch-name')
    page = _SettingsPage(viewer=viewer, branch_id=branch_id, key_set=view.llm_key_set)
    page.form = BranchSettingsForm(
        view,
        defaults=Defaults(
            faithful_offer_seconds=settings.faithful_offer_seconds,
            llm_base_url=settings.llm_base_url,
            llm_model=settings.llm_model,
        ),
        admin=viewer.has_role(Role.ADMIN),
        on_save=page.save,
        on_probe=page.probe,
    )


class _SettingsPage:
    """What the form's buttons do."""

    def __init__(self, *, viewer: Viewer, branch_id: int, key_set: bool) -> None:
        self.viewer = viewer
        self.branch_id = branch_id
        self.key_set = key_set
        self.form: BranchSettingsForm | None = None

    async def save(self) -> None:
        form, db, settings = self.form, runtime().db, runtime().settings
        assert form is not None
        key = (form.key.value or '').strip()
        try:
            changes = await branch_settings.update_branch_settings(
                db,
                viewer=self.viewer,
                branch_id=self.branch_id,
                raw=form.raw(),
                keyring=keyring_for(settings, create=True) if key else None,
                llm_api_key=SecretStr(key) if key else None,
                clear_llm_key=bool(form.clear_key.value),
            )
        except branch_settings.SettingsInvalid as exc:
            form.show_problems(exc.problems)
            form.status.text = t('settings.invalid')
            return
        except ServiceError as exc:
            form.status.text = str(exc)
            return
        form.show_problems([])
        form.key.value = ''
        form.clear_key.value = False
        view = await branch_settings.get_branch_settings(db, viewer=self.viewer, branch_id=self.branch_id)
        self.key_set = view.llm_key_set
        form.key_state.text = t('settings.key_set' if self.key_set else 'settings.key_unset')
        form.clear_key.set_visibility(self.key_set)
        if changes:
            labels = [t(f'settings.{change.field}', default='…') for change in changes]
            form.status.text = t('settings.saved', fields=', '.join(labels))
            ui.notify(form.status.text, type='positive')
        else:
            form.status.text = t('settings.unchanged')

    async def probe(self) -> None:
        """Call the LLM with what the form says now (typed key, else the branch's stored one, else the system's)."""
        form, db, settings = self.form, runtime().db, runtime().settings
        assert form is not None
        base_url = (form.inputs['llm_base_url'].value or '').strip() or settings.llm_base_url
        model = (form.inputs['llm_model'].value or '').strip() or settings.llm_model
        key = (form.key.value or '').strip()
        if not key and self.key_set:
            keyring = keyring_for(settings, create=False)
            stored = (
                await branch_settings.branch_llm_key(db, keyring=keyring, branch_id=self.branch_id) if keyring else None
            )
            key = stored.get_secret_value() if stored else ''
        if not key and settings.llm_api_key is not None:
            key = settings.llm_api_key.get_secret_value()
        if not (base_url and model and key):
            form.probe_result.text = t('settings.probe_incomplete')
            return
        form.probe_result.text = '…'
        result = await branch_settings.probe_llm(base_url=base_url, model=model, api_key=key)
        if result.ok:
            form.probe_result.text = t('settings.probe_ok', ms=result.elapsed_ms, answer=result.detail)
        else:
            form.probe_result.text = t('settings.probe_failed', reason=result.detail)
