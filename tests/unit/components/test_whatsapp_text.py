"""WhatsApp's formatting rules (components/whatsapp_text.py): what pairs becomes a style, everything else stays as
typed — asterisks in prices and products, underscores inside words, markers across lines."""

from __future__ import annotations

import pytest

from components.whatsapp_text import BOLD, ITALIC, MONO, STRIKE, Segment, parse


def styled(text: str) -> list[tuple[str, set[str]]]:
    return [(segment.text, set(segment.styles)) for segment in parse(text)]


def test_each_marker_styles_what_it_wraps() -> None:
    assert styled('*Total:* $ 68.871,99 _con IVA_ ~$ 70.000~ ```SUC1-000001```') == [
        ('Total:', {BOLD}),
        (' $ 68.871,99 ', set()),
        ('con IVA', {ITALIC}),
        (' ', set()),
        ('$ 70.000', {STRIKE}),
        (' ', set()),
        ('SUC1-000001', {MONO}),
    ]


def test_styles_nest() -> None:
    assert styled('*_oferta_*') == [('oferta', {BOLD, ITALIC})]


@pytest.mark.parametrize(
    'text',
    [
        'filtro_aceite_mann y 2*3*4',  # inside words
        '* no es negrita *',  # a space after the opening marker / before the closing one
        '*empieza\ny termina*',  # across a line break
        '**',
        'precio *sin cerrar',
        '<b>hola</b> <script>alert(1)</script>',
    ],
)
def test_what_does_not_pair_stays_exactly_as_typed(text: str) -> None:
    assert parse(text) == [Segment(text)]


def test_monospace_keeps_markers_inside_it() -> None:
    assert styled('```*literal*```') == [('*literal*', {MONO})]
