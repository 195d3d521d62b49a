"""The per-branch settings form (issue 15): its inputs, what they hold as raw settings, and the problems shown
under each field. Values travel as typed (text); services/branch_settings.py validates them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nicegui import ui

from components.i18n import t
from services.branch_settings import ADMIN_ONLY_FIELDS, WEEKDAYS, BranchSettingsView, Problem
from services.models import AssignmentRule


@dataclass(frozen=True)
class Defaults:
    """The process-wide values a branch falls back to, shown next to the fields they fill."""

    faithful_offer_seconds: int
    llm_base_url: str
    llm_model: str


def _text(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, Decimal):
        return format(value.normalize(), 'f').replace('.', ',')  # es-AR: 10,5
    return str(value)


class BranchSettingsForm:
    def __init__(
        self,
        view: BranchSettingsView,
        *,
        defaults: Defaults,
        admin: bool,
        on_save: Callable[[], Awaitable[None]],
        on_probe: Callable[[], Awaitable[None]],
    ) -> None:
        self.view = view
        self.admin = admin
        self.inputs: dict[str, Any] = {}
        self.errors: dict[str, ui.label] = {}
        values = view.values

        self._takeover_section(values, defaults)
        self._hours_section(values)
        self._sales_section(values)
        self._assistant_section(view, defaults, on_probe)

        with ui.row().classes('items-center gap-4'):
            ui.button(t('settings.save'), icon='save', on_click=on_save).mark('settings-save')
            self.status = ui.label('').mark('settings-status')

    def _takeover_section(self, values: dict[str, Any], defaults: Defaults) -> None:
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(t('settings.section.takeover')).classes('text-lg font-semibold')
            self._input('takeover_timeout_seconds', values)
            self.inputs['assignment_rule'] = (
                ui.select(
                    {rule.value: t(f'settings.rule.{rule.value}') for rule in AssignmentRule},
                    value=str(values['assignment_rule']),
                    label=t('settings.assignment_rule'),
                )
                .classes('w-full')
                .mark('settings-assignment_rule')
            )
            self._error('assignment_rule')
            self._switch('faithful_offer_enabled', values)
            self._input('faithful_offer_seconds', values, default=defaults.faithful_offer_seconds)

    def _hours_section(self, values: dict[str, Any]) -> None:
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(t('settings.section.hours')).classes('text-lg font-semibold')
            ui.label(t('settings.hours_help')).classes('text-sm text-slate-500')
            hours = values['business_hours'] or {}
            for day in WEEKDAYS:
                opening, closing = (hours.get(day) or ['', ''])[:2]
                with ui.row().classes('items-center gap-2'):
                    ui.label(t(f'settings.day.{day}')).classes('w-24')
                    self.inputs[f'hours.{day}.open'] = (
                        ui.input(t('settings.open'), value=opening).classes('w-24').mark(f'settings-hours-{day}-open')
                    )
                    self.inputs[f'hours.{day}.close'] = (
                        ui.input(t('settings.close'), value=closing).classes('w-24').mark(f'settings-hours-{day}-close')
                    )
                    self._error(f'business_hours.{day}')
            self._error('business_hours')

    def _sales_section(self, values: dict[str, Any]) -> None:
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(t('settings.section.sales')).classes('text-lg font-semibold')
            self._input('iva_default_rate', values)
            self._input('commission_rate', values)
            self._input('quote_valid_days', values)
            self._switch('ai_sends_quotes', values)

    def _assistant_section(
        self, view: BranchSettingsView, defaults: Defaults, on_probe: Callable[[], Awaitable[None]]
    ) -> None:
        values, admin = view.values, self.admin
        with ui.card().classes('w-full max-w-3xl'):
            ui.label(t('settings.section.assistant')).classes('text-lg font-semibold')
            self._switch('assistant_enabled', values)
            if not admin:
                ui.label(t('settings.admin_only')).classes('text-sm text-slate-500').mark('settings-admin-only')
            engine = ui.select(
                {
                    'default': t('settings.engine.default'),
                    'rule': t('settings.engine.rule'),
                    'llm': t('settings.engine.llm'),
                },
                value=values['assistant_engine'] or 'default',
                label=t('settings.assistant_engine'),
            ).classes('w-full')
            self.inputs['assistant_engine'] = engine.mark('settings-assistant_engine')
            self._error('assistant_engine')
            self._input('llm_base_url', values, default=defaults.llm_base_url)
            self._input('llm_model', values, default=defaults.llm_model)
            key_state = 'settings.key_set' if view.llm_key_set else 'settings.key_unset'
            self.key_state = ui.label(t(key_state)).classes('text-sm').mark('settings-key-state')
            self.key = (
                ui.input(t('settings.llm_api_key'), password=True, password_toggle_button=True)
                .classes('w-full')
                .mark('settings-llm_api_key')
            )
            self.clear_key = ui.checkbox(t('settings.clear_key')).mark('settings-clear-key')
            if not view.llm_key_set:
                self.clear_key.set_visibility(False)
            with ui.row().classes('items-center gap-2'):
                self.probe_button = ui.button(t('settings.probe'), icon='bolt', on_click=on_probe).mark(
                    'settings-probe'
                )
                self.probe_result = ui.label('').classes('text-sm').mark('settings-probe-result')
            for name in ADMIN_ONLY_FIELDS:
                if not admin:
                    self.inputs[name].disable()
            if not admin:
                for element in (self.key, self.clear_key, self.probe_button):
                    element.disable()

    def _input(self, name: str, values: dict[str, Any], *, default: object = '') -> None:
        self.inputs[name] = (
            ui.input(t(f'settings.{name}', default=default), value=_text(values[name]))
            .classes('w-full')
            .mark(f'settings-{name}')
        )
        self._error(name)

    def _switch(self, name: str, values: dict[str, Any]) -> None:
        self.inputs[name] = ui.switch(t(f'settings.{name}'), value=bool(values[name])).mark(f'settings-{name}')
        self._error(name)

    def _error(self, name: str) -> None:
        self.errors[name] = ui.label('').classes('text-sm text-red-700').mark(f'settings-error-{name}')

    # --- reading it back ---

    def raw(self) -> dict[str, Any]:
        """What the form holds, as settings for `update_branch_settings` (the admin-only ones only for admins)."""
        raw: dict[str, Any] = {}
        for name in (
            'takeover_timeout_seconds',
            'assignment_rule',
            'faithful_offer_enabled',
            'faithful_offer_seconds',
            'iva_default_rate',
            'commission_rate',
            'quote_valid_days',
            'ai_sends_quotes',
            'assistant_enabled',
        ):
            value = self.inputs[name].value
            raw[name] = value.strip() if isinstance(value, str) else value
        hours: dict[str, list[str]] = {}
        for day in WEEKDAYS:
            pair = [(self.inputs[f'hours.{day}.{end}'].value or '').strip() for end in ('open', 'close')]
            if any(pair):
                hours[day] = [part for part in pair if part]  # one time alone is reported as incomplete
        raw['business_hours'] = hours
        if self.admin:
            raw['assistant_engine'] = self.inputs['assistant_engine'].value
            raw['llm_base_url'] = (self.inputs['llm_base_url'].value or '').strip()
            raw['llm_model'] = (self.inputs['llm_model'].value or '').strip()
        return raw

    def show_problems(self, problems: list[Problem]) -> None:
        for label in self.errors.values():
            label.text = ''
        for problem in problems:
            shown_under = self.errors.get(problem.field) or self.errors.get(problem.field.split('.')[0])
            if shown_under is not None:
                shown_under.text = t(f'settings.error.{problem.code}', **problem.params)
