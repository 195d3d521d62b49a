"""Backups (issue 21): the admins' one line about the last backup."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'backups.none': {
        'es': 'Respaldo: todavía no se hizo ninguno (se hace cada día a las {hour}:00).',
        'en': 'Backup: none made yet (one is made every day at {hour}:00).',
    },
    'backups.ok': {
        'es': 'Último respaldo: {when}, {size} MB, correcto.',
        'en': 'Last backup: {when}, {size} MB, OK.',
    },
    'backups.failed': {
        'es': 'El último respaldo ({when}) falló: {error}. El último correcto: {last_success}.',
        'en': 'The last backup ({when}) failed: {error}. Last good one: {last_success}.',
    },
    'backups.off': {
        'es': 'Respaldo diario desactivado (LEADMASTER_BACKUP_ENABLED=false).',
        'en': 'Daily backup off (LEADMASTER_BACKUP_ENABLED=false).',
    },
}
