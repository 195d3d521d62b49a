"""Every UI text exists in Spanish and English, and unknown keys are visible rather than crashing."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from components.i18n import LOCALES, TEXTS, local_time, t


def test_every_text_has_every_language_with_the_same_placeholders() -> None:
    for key, translations in TEXTS.items():
        assert set(translations) == set(LOCALES), key
        placeholders = {locale: set(re.findall(r'{(\w+)}', text)) for locale, text in translations.items()}
        assert placeholders['es'] == placeholders['en'], key


def test_spanish_is_the_default_outside_a_page() -> None:
    assert t('login.submit') == 'Ingresar'
    assert t('login.locked', minutes=3) == 'Demasiados intentos fallidos. Probá de nuevo en 3 min.'


def test_unknown_key_shows_the_key() -> None:
    assert t('no.such.key') == 'no.such.key'


def test_times_are_shown_in_argentina_by_default() -> None:
    assert local_time(datetime(2026, 11, 22, 15, 30, tzinfo=UTC)) == '22/11 12:30'
    assert local_time(None) == ''
