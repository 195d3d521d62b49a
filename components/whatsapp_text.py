"""WhatsApp's text formatting (`*negrita*`, `_cursiva_`, `~tachado~`, ```monoespaciado```) shown as WhatsApp
shows it, in the agents' thread and in the simulator's phone.

Message text is never HTML: `parse` splits it into plain-text segments with styles, and `render` makes one text
element per segment (NiceGUI sends a text element's text as text, the browser never parses it as markup), so
'<script>' or '<b>' in a message stay those characters.

WhatsApp's rules, as its apps apply them: a marker opens only at the start of the text or after a space or
punctuation, and is followed by a non-space; it closes at the first same marker preceded by a non-space and
followed by the end, a space or punctuation; a style never crosses a line break (```…``` may); styles nest
(`*_así_*`). Anything that does not pair stays as typed, asterisks included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

BOLD, ITALIC, STRIKE, MONO = 'bold', 'italic', 'strike', 'mono'
_MARKERS = {'*': BOLD, '_': ITALIC, '~': STRIKE}
_MONO_BLOCK = re.compile(r'```(.+?)```', re.DOTALL)
STYLE_CLASSES = {BOLD: 'font-bold', ITALIC: 'italic', STRIKE: 'line-through', MONO: 'font-mono'}
# A word of thousands of letters must wrap inside its bubble: `anywhere` also lowers the element's minimum width
# (`break-word` does not), so a flex bubble with a maximum width cannot be pushed wider by it.
WRAP_STYLE = 'white-space: pre-wrap; overflow-wrap: anywhere; word-break: break-word; min-width: 0'


@dataclass(frozen=True)
class Segment:
    text: str
    styles: frozenset[str] = frozenset()


def _opens(text: str, index: int) -> bool:
    before = text[index - 1] if index > 0 else ' '
    after = text[index + 1] if index + 1 < len(text) else ' '
    return not before.isalnum() and before != text[index] and not after.isspace() and after != text[index]


def _closes(text: str, index: int) -> bool:
    before = text[index - 1]
    after = text[index + 1] if index + 1 < len(text) else ' '
    return not before.isspace() and not after.isalnum() and after != text[index]


def _closing(text: str, start: int, marker: str) -> int | None:
    """Where the marker opened at `start` closes, or None (no pair on the same line)."""
    index = start + 2  # at least one character between the markers
    while index < len(text):
        character = text[index]
        if character == '\n':
            return None
        if character == marker and _closes(text, index):
            return index
        index += 1
    return None


def _inline(text: str, styles: frozenset[str]) -> list[Segment]:
    segments: list[Segment] = []
    plain_from = 0
    index = 0
    while index < len(text):
        marker = text[index]
        if marker in _MARKERS and _opens(text, index):
            end = _closing(text, index, marker)
            if end is not None:
                if index > plain_from:
                    segments.append(Segment(text[plain_from:index], styles))
                segments.extend(_inline(text[index + 1 : end], styles | {_MARKERS[marker]}))
                index = plain_from = end + 1
                continue
        index += 1
    if plain_from < len(text):
        segments.append(Segment(text[plain_from:], styles))
    return segments


def parse(text: str) -> list[Segment]:
    """The text as segments, in order; joined, their texts are the text without the markers that paired."""
    segments: list[Segment] = []
    position = 0
    for block in _MONO_BLOCK.finditer(text):
        segments.extend(_inline(text[position : block.start()], frozenset()))
        segments.append(Segment(block.group(1), frozenset({MONO})))
        position = block.end()
    segments.extend(_inline(text[position:], frozenset()))
    merged: list[Segment] = []
    for segment in segments:
        if merged and merged[-1].styles == segment.styles:
            merged[-1] = Segment(merged[-1].text + segment.text, segment.styles)
        elif segment.text:
            merged.append(segment)
    return merged


def is_formatted(text: str) -> bool:
    return any(segment.styles for segment in parse(text))


class _Span(TextElement):
    def __init__(self, text: str) -> None:
        super().__init__(tag='span', text=text)


def render(text: str, *, marker: str, classes: str = '') -> ui.element:
    """The message text as WhatsApp shows it. Plain text stays one label; formatted text one element per
    styled piece, each marked `wa-bold`, `wa-italic`, `wa-strike` or `wa-mono` (all that apply)."""
    segments = parse(text)
    if not any(segment.styles for segment in segments):
        return ui.label(text).classes(classes).style(WRAP_STYLE).mark(marker)
    with ui.element('div').classes(classes).style(WRAP_STYLE).mark(marker) as box:
        for segment in segments:
            span = _Span(segment.text)
            if segment.styles:
                span.classes(' '.join(STYLE_CLASSES[style] for style in sorted(segment.styles)))
                span.mark(' '.join(f'wa-{style}' for style in sorted(segment.styles)))
    return box
