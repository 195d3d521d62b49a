"""Prospect lists as people have them (SPEC L3): a CSV saved by a spreadsheet (Excel's `;` and byte order mark,
Latin-1, a comma file from elsewhere) or vCards (3.0 / 4.0, a phone's contact export), read into rows of raw cells
with the line each starts on, and their columns mapped onto a prospect's fields.

Decoding and the separator are the catalog import's (services/catalog/tables.py): one way to read a spreadsheet's
CSV in the whole app."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import vobject

from ..catalog.tables import decode, normalize_header, sniff_delimiter

# A prospect's fields a column may be mapped onto, in the order the import page lists them. `phone` and `social`
# take several columns (Teléfono + Celular; Instagram + Facebook).
FIELDS = ('phone', 'name', 'email', 'website', 'company', 'social', 'labels', 'score_potencial', 'notes')
MULTI_COLUMN_FIELDS = frozenset({'phone', 'social'})

# Column titles (normalized: lower case, no accents, `_` between words) each field is recognized by.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    'phone': (
        'telefono',
        'telefonos',
        'tel',
        'tele',
        'celular',
        'cel',
        'movil',
        'whatsapp',
        'wa',
        'numero',
        'phone',
        'mobile',
        'telefono_movil',
        'telefono_celular',
        'nro_telefono',
    ),
    'name': ('nombre', 'contacto', 'nombre_y_apellido', 'apellido_y_nombre', 'nombre_completo', 'name', 'full_name'),
    'email': ('email', 'e_mail', 'mail', 'correo', 'correo_electronico', 'email_address'),
    'website': ('web', 'sitio_web', 'sitio', 'pagina_web', 'pagina', 'website', 'url', 'www'),
    'company': ('empresa', 'razon_social', 'company', 'negocio', 'comercio', 'organizacion', 'org', 'compania'),
    'social': ('instagram', 'facebook', 'linkedin', 'twitter', 'tiktok', 'redes', 'redes_sociales', 'social'),
    'labels': ('etiquetas', 'etiqueta', 'labels', 'tags', 'rubro', 'categoria'),
    'score_potencial': ('score_potencial', 'potencial'),
    'notes': ('notas', 'nota', 'observaciones', 'comentarios', 'notes'),
}
_NUMBERED = re.compile(r'_?\d+$')

ColumnMapping = dict[str, list[str]]


@dataclass(frozen=True)
class ProspectTable:
    """A file read as rows of raw cells: what the import page previews and the import maps."""

    name: str
    kind: str  # 'csv' | 'vcard'
    headers: tuple[str, ...]
    rows: list[tuple[int, dict[str, str]]]  # (line the row starts on, cells)
    encoding: str = 'utf-8'
    delimiter: str = ''
    # Rows that could not even be read (a broken vCard): (line, reason). They are reported with the invalid rows.
    unreadable: tuple[tuple[int, str], ...] = ()


def read_prospect_file(path: Path, *, name: str | None = None) -> ProspectTable:
    path = Path(path)
    return read_prospect_bytes(path.read_bytes(), name=name or path.name)


def read_prospect_bytes(data: bytes, *, name: str) -> ProspectTable:
    """ValueError (naming the file) when it cannot be read as a table at all."""
    text, encoding = decode(data)
    suffix = Path(name).suffix.lower()
    if suffix in {'.vcf', '.vcard'} or text.lstrip().upper().startswith('BEGIN:VCARD'):
        return _vcard_table(text, name, encoding)
    if suffix not in {'.csv', '.txt', ''}:
        raise ValueError(f'{name}: unknown format {suffix}; use .csv or .vcf')
    return _csv_table(text, name, encoding)


def _csv_table(text: str, name: str, encoding: str) -> ProspectTable:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
    try:
        raw_header = next(reader)
    except StopIteration:
        raise ValueError(f'{name}: the file is empty') from None
    except csv.Error as exc:
        raise ValueError(f'{name}: line 1: {exc}') from None
    while raw_header and not raw_header[-1].strip():
        raw_header.pop()
    if not raw_header:
        raise ValueError(f'{name}: the first line must hold the column titles')
    headers: list[str] = []
    for index, cell in enumerate(raw_header, start=1):
        title = cell.strip() or f'Columna {index}'
        # Two columns titled alike ("Teléfono", "Teléfono") both stay: the second becomes "Teléfono (2)".
        unique, copy = title, 2
        while unique in headers:
            unique, copy = f'{title} ({copy})', copy + 1
        headers.append(unique)
    rows: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num + 1
    try:
        for cells in reader:
            rows.append((line, dict(zip(headers, cells, strict=False))))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise ValueError(f'{name}: line {reader.line_num}: {exc}') from None
    return ProspectTable(
        name=name, kind='csv', headers=tuple(headers), rows=rows, encoding=encoding, delimiter=delimiter
    )


VCARD_HEADERS = ('Nombre', 'Teléfonos', 'Email', 'Web', 'Empresa', 'Notas')


def _vcard_table(text: str, name: str, encoding: str) -> ProspectTable:
    """Each card becomes a row of VCARD_HEADERS; a card with several numbers keeps them all (`Teléfonos`, joined
    by ' / ', which the phone reader splits). Cards are parsed one by one, so a broken one is reported by its line
    and the others still import."""
    rows: list[tuple[int, dict[str, str]]] = []
    unreadable: list[tuple[int, str]] = []
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        upper = line.strip().upper()
        if upper == 'BEGIN:VCARD':
            block, start = [line], number
        elif block:
            block.append(line)
            if upper == 'END:VCARD':
                try:
                    rows.append((start, _card_cells(vobject.readOne('\r\n'.join(block) + '\r\n'))))
                except Exception as exc:  # vobject raises its own ParseError and plain ValueErrors alike
                    unreadable.append((start, f'vCard ilegible: {exc}'[:200]))
                block = []
    if block:
        unreadable.append((start, 'vCard sin END:VCARD'))
    if not rows and not unreadable:
        raise ValueError(f'{name}: no vCard found (BEGIN:VCARD … END:VCARD)')
    return ProspectTable(
        name=name, kind='vcard', headers=VCARD_HEADERS, rows=rows, encoding=encoding, unreadable=tuple(unreadable)
    )


def _values(card: object, key: str) -> list[str]:
    contents: Mapping[str, Sequence[object]] = getattr(card, 'contents', {})
    found: list[str] = []
    for item in contents.get(key, []):
        value = getattr(item, 'value', '')
        if isinstance(value, (list, tuple)):  # ORG is a list of units
            value = ' '.join(str(part) for part in value if part)
        text = str(value).strip()
        if text:
            found.append(text.removeprefix('tel:'))
    return found


def _card_cells(card: object) -> dict[str, str]:
    name = _values(card, 'fn')
    if not name:
        structured = _values(card, 'n')
        name = [' '.join(structured)] if structured else []
    return {
        'Nombre': name[0] if name else '',
        'Teléfonos': ' / '.join(_values(card, 'tel')),
        'Email': (_values(card, 'email') or [''])[0],
        'Web': (_values(card, 'url') or [''])[0],
        'Empresa': (_values(card, 'org') or [''])[0],
        'Notas': (_values(card, 'note') or [''])[0],
    }


def guess_mapping(headers: Sequence[str]) -> ColumnMapping:
    """Each column onto the field its title names ('Teléfono', 'Celular 2', 'Razón social'…); a column is used
    once. The import page shows this for the person to correct; the CLI takes `--map COLUMN=FIELD`."""
    mapping: ColumnMapping = {}
    for header in headers:
        plain = normalize_header(header)
        plain = re.sub(r'_\d+$', '', plain)  # "telefono_2", "Teléfono (2)" -> "telefono"
        for field, names in _SYNONYMS.items():
            if plain in names or _NUMBERED.sub('', plain) in names:
                if field in MULTI_COLUMN_FIELDS or field not in mapping:
                    mapping.setdefault(field, []).append(header)
                break
    return mapping


def check_mapping(mapping: Mapping[str, Sequence[str]], headers: Sequence[str]) -> ColumnMapping:
    """The mapping with its fields and columns checked; ValueError naming the first thing wrong."""
    checked: ColumnMapping = {}
    for field, columns in mapping.items():
        if field not in FIELDS:
            raise ValueError(f'unknown field {field!r}; fields: {", ".join(FIELDS)}')
        for column in columns:
            if column not in headers:
                raise ValueError(f'no column {column!r} in the file; columns: {", ".join(headers)}')
        if len(columns) > 1 and field not in MULTI_COLUMN_FIELDS:
            raise ValueError(f'{field} takes one column, got {len(columns)}')
        if columns:
            checked[field] = list(columns)
    if 'phone' not in checked:
        raise ValueError('no column is mapped onto phone: say which one holds the numbers')
    return checked
