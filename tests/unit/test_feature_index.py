"""`docs/features.md` is the repository's index of the spec's feature IDs (the spec itself lives outside it).

These tests fail when the index stops being true: a path it names is gone, the code or the docs cite a feature
ID the index does not define, or the index misses a feature of SPEC §3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INDEX = ROOT / 'docs' / 'features.md'

# The feature IDs SPEC §3 defines: letter → highest number (M1–M7, C1–C5, T1–T5, …). Update with the spec.
SPEC_FEATURES = {'M': 7, 'C': 5, 'T': 5, 'A': 3, 'V': 3, 'S': 4, 'B': 4, 'L': 4, 'O': 6}
SPEC_IDS = {f'{letter}{number}' for letter, top in SPEC_FEATURES.items() for number in range(1, top + 1)}

# What the citations are looked for in: the repository's own code and docs.
SCANNED = ('app', 'components', 'services', 'bench', 'docs', 'tests', 'README.md')
# A path in backticks in the index that starts like this is a path in the repository.
REPOSITORY_PATH = re.compile(r'`((?:app|components|services|bench|tests|docs|scripts)/[^`\s]*)`')
# An index entry: a bullet that starts with the ID in bold, "- **M1** …".
INDEX_ENTRY = re.compile(r'^- \*\*([A-Z]\d+)\*\*', re.MULTILINE)

# One feature ID: only the spec's letters and numbers (M[1-7]|C[1-5]|…), not glued to a word, a dotted or `$`/`#`
# name, or a longer code: 'SUC1', 'wamid.M1', '$B1', '#C1C1C1', 'T4####', 'V220', 'A4' and 'C6' are not IDs.
SPEC_ID = '|'.join(f'{letter}[1-{top}]' for letter, top in SPEC_FEATURES.items())
ONE_ID = rf'(?<![\w.$#])(?:{SPEC_ID})(?![\w#])'
# IDs in a row: 'T2, T4', 'A1–A3/C4', 'T1-T5'.
ID_LIST = rf'{ONE_ID}(?:\s*[,/–-]\s*{ONE_ID})*'
# Only the unambiguous forms of a citation count; an ID-shaped word anywhere else ('S3 bucket', a Citroën
# 'C4 Lounge', a paper size, a spreadsheet's '(A1:B2)') is not one.
CITATION = re.compile(
    rf"""
      \bSPEC\s+(?:§\d+,\s*)?(?P<spec>{ID_LIST})                   # SPEC M1 · SPEC C1–C3 · SPEC §4, M1
    | \((?P<paren>{ID_LIST})(?=\)|[,;]|:(?:\s|$)|['’]s\b)         # (M1) · (T2, T4) · (B2: …) · (C1's …)
    | ,\s*(?P<last>{ID_LIST})\)                                   # (the bus filters, B2)
    | (?:\#|//|\"\"\"|\|)[ \t]*(?P<lead>{ID_LIST}):(?=\s|$)       # T2: leading a comment, docstring or table cell
    """,
    re.VERBOSE,
)


def expand(id_list: str) -> set[str]:
    """'A1–A3/C4' → {'A1', 'A2', 'A3', 'C4'}: a dash between two IDs of one letter is a range."""
    parts = re.split(r'\s*([,/–-])\s*', id_list)
    ids = set(parts[0::2])
    for first, separator, last in zip(parts[0::2], parts[1::2], parts[2::2], strict=False):
        if separator in '–-' and first[0] == last[0]:
            ids |= {f'{first[0]}{number}' for number in range(int(first[1:]), int(last[1:]) + 1)}
    return ids


def citations(text: str) -> Iterator[tuple[int, set[str]]]:
    """(line number, feature IDs) of every citation in a text, in one of the unambiguous forms."""
    for match in CITATION.finditer(text):
        line = text.count('\n', 0, match.start()) + 1
        yield line, expand(match['spec'] or match['paren'] or match['last'] or match['lead'])


def cited_ids(text: str) -> set[str]:
    return {feature for _, ids in citations(text) for feature in ids}


def scanned_files() -> Iterator[Path]:
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
        elif path.is_dir():
            for file in sorted(path.rglob('*')):
                parts = file.relative_to(ROOT).parts
                if file.is_file() and not any(part.startswith('.') or part == '__pycache__' for part in parts):
                    yield file


def text_of(file: Path) -> str | None:
    """The file's text, or None for a binary file (images, fonts, PDFs)."""
    data = file.read_bytes()
    if b'\0' in data:
        return None
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError:
        return None


@cache
def index_text() -> str:
    return INDEX.read_text(encoding='utf-8')


def defined_ids() -> set[str]:
    return set(INDEX_ENTRY.findall(index_text()))


@pytest.mark.parametrize(
    ('text', 'ids'),
    [
        ('"""Takeover (SPEC T1–T5). See docs."""', {'T1', 'T2', 'T3', 'T4', 'T5'}),
        ('(issue 6: SPEC S1, A1–A3, C4)', {'S1', 'A1', 'A2', 'A3', 'C4'}),
        ('Inbound ingest benchmark (SPEC §4, M1): signed webhook', {'M1'}),
        ('the outbox (M3) and the 24-hour window (M4)', {'M3', 'M4'}),
        ('"""takeover and assignment (T1-T5)', {'T1', 'T2', 'T3', 'T4', 'T5'}),
        ("see (B2: 'unless allowed') and (C1's keyboard)", {'B2', 'C1'}),
        ('    # A1-A3/C4: the bot and the summaries', {'A1', 'A2', 'A3', 'C4'}),
        ('    """T1/T5: the state machine', {'T1', 'T5'}),
        ('| `services/vin/part_codes.py` | V2: part numbers |', {'V2'}),
        ('## Counts for the dashboard (T5/B3)', {'T5', 'B3'}),
        ('(the bus filters, B2), and', {'B2'}),
        ('only while the conversation is in AI mode (T1:', {'T1'}),
        ('The desk (SPEC C4, S3, S4,\nV1), through', {'C4', 'S3', 'S4', 'V1'}),
        ("wa_message_id='wamid.M1', branch 'SUC1', price '$B1', 'T4####'", set()),
        ("(CITROEN, 'C4 Lounge', 2013), ('Spirax S3 G 80W', 0.9), format='A4'", set()),
        ('an S3 bucket, Graph API v23.0, an H7 bulb, (A1:B2), (C4 Lounge)', set()),
        ("TIPO: {rng.choice(['M1', 'N1', 'L7'])}, color #C1C1C1, # noqa: S310", set()),
        ("send_media(PHONE_ID, media_id='M1'), models=('C3', 'C4')", set()),
    ],
)
def test_citations_are_read_only_in_unambiguous_forms(text: str, ids: set[str]) -> None:
    assert cited_ids(text) == ids


def test_the_index_lists_every_feature_of_the_spec_once() -> None:
    entries = INDEX_ENTRY.findall(index_text())
    assert sorted(entries) == sorted(SPEC_IDS), 'docs/features.md must have one "- **X1** …" entry per SPEC §3 ID'


def test_every_path_the_index_names_exists() -> None:
    paths = REPOSITORY_PATH.findall(index_text())
    assert paths, 'the index names no repository paths: has its format changed?'
    missing = sorted({path for path in paths if not (ROOT / path).exists()})
    assert not missing, f'docs/features.md names paths that do not exist: {missing}'


def test_every_feature_id_the_repository_cites_is_in_the_index() -> None:
    defined = defined_ids()
    undefined: list[str] = []
    cited_anywhere: set[str] = set()
    for file in scanned_files():
        text = text_of(file)
        if text is None:
            continue
        for line, cited in citations(text):
            cited_anywhere |= cited
            undefined += [f'{file.relative_to(ROOT)}:{line}: {feature}' for feature in sorted(cited - defined)]
    assert cited_anywhere, 'no citations found at all: has the citation pattern broken?'
    assert not undefined, 'feature IDs cited but not defined in docs/features.md:\n' + '\n'.join(undefined)
