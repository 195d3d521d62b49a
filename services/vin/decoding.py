"""Offline VIN decoding: maker, country, model year — and the model where the VIN itself tells it.

- `vininfo` (a dependency): WMI → maker, country, region, from its bundled tables.
- NHTSA vPIC through the `vin` package, when installed: make/model for North-American VINs from the
  vPIC subset its wheel ships (no network). Optional: see docs/vin.md for why it is not a dependency yet.
- Volkswagen group VINs outside North America carry the type code at positions 7–8 (1J = Golf IV,
  5U = Gol…); a short table of the types sold in Argentina names the model.

Nothing here guesses a model from a pattern that does not define it: an unknown model stays empty.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

from .validation import is_north_american, model_year

log = logging.getLogger(__name__)

# vininfo names the group, customers know the brand.
_MAKE_BY_WMI = {
    '8AG': 'Chevrolet',
    '9BG': 'Chevrolet',
    '8AP': 'Fiat',
    '9BD': 'Fiat',
    'ZFA': 'Fiat',
    'KMH': 'Hyundai',
    '8AC': 'Mercedes-Benz',
    '8AW': 'Volkswagen',
    '9BW': 'Volkswagen',
    'WVW': 'Volkswagen',
    'WVG': 'Volkswagen',
    'WV1': 'Volkswagen',
    'WV2': 'Volkswagen',
    'AAV': 'Volkswagen',
}
_VW_GROUP_WMIS = frozenset({'WVW', 'WVG', 'WV1', 'WV2', '9BW', '8AW', 'AAV'})
# Positions 7-8 of a non-North-American Volkswagen VIN: the first two characters of the official type.
_VW_TYPES = {
    '1H': 'Golf III / Vento',
    '1J': 'Golf IV / Bora',
    '1K': 'Golf V / Vento',
    '5K': 'Golf VI',
    '5G': 'Golf VII',
    'AU': 'Golf VII',
    '6N': 'Polo',
    '9N': 'Polo',
    '6R': 'Polo',
    'AW': 'Polo',
    '5Z': 'Fox / Suran',
    '5U': 'Gol / Voyage / Saveiro',
    '2H': 'Amarok',
    '5N': 'Tiguan',
    'AD': 'Tiguan',
    '3C': 'Passat',
    '3G': 'Passat',
    '16': 'Vento',
    '7H': 'Transporter',
    '2K': 'Caddy',
    '1T': 'Touran',
    '7L': 'Touareg',
    '7P': 'Touareg',
}


@dataclass(frozen=True)
class Vehicle:
    make: str
    model: str  # '' when the VIN does not say
    year: int | None
    country: str
    region: str
    manufacturer: str  # the legal maker, as vininfo names it
    source: str  # which data named the model: 'vpic', 'vw-type', or '' (none)

    @property
    def label(self) -> str:
        """'Volkswagen Gol / Voyage / Saveiro 2015', 'Ford 2013', or the country when nothing else is known."""
        parts = [part for part in (self.make, self.model, str(self.year) if self.year else '') if part]
        return ' '.join(parts) or self.country

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), 'label': self.label}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Vehicle | None:
        if not data:
            return None
        return cls(
            make=data.get('make', ''),
            model=data.get('model', ''),
            year=data.get('year'),
            country=data.get('country', ''),
            region=data.get('region', ''),
            manufacturer=data.get('manufacturer', ''),
            source=data.get('source', ''),
        )


@lru_cache(maxsize=4096)
def known_maker(vin_text: str) -> bool:
    """Whether the WMI belongs to a maker vininfo knows. OCR reads of VINs without a check digit must pass
    this: label words OCR'd into 17 characters ("FABR1CAD0EN112014") have no maker behind them."""
    if vin_text[:3] in _MAKE_BY_WMI:
        return True
    from vininfo import Vin
    from vininfo.exceptions import VininfoException

    try:
        manufacturer = Vin(vin_text).manufacturer
    except (VininfoException, KeyError, ValueError):
        return False
    return bool(manufacturer) and manufacturer != 'UnsupportedBrand'


def vpic_available() -> bool:
    try:
        import vin  # noqa: F401
    except ImportError:
        return False
    return True


def _vpic(vin_text: str) -> tuple[str, str, int | None] | None:
    """(make, model, year) from NHTSA vPIC data, or None (not installed, not decodable)."""
    try:
        from vin import VIN
    except ImportError:
        return None
    try:
        decoded = VIN(vin_text)
        return decoded.make or '', decoded.model or '', decoded.model_year or None
    except Exception:  # the package raises bare ValueError/DecodingError on VINs it has no data for
        return None


@lru_cache(maxsize=4096)
def decode_vehicle(vin_text: str) -> Vehicle | None:
    """What the VIN says about the vehicle, offline. None only if the text is not 17 characters."""
    if len(vin_text) != 17:
        return None
    from vininfo import Vin
    from vininfo.exceptions import VininfoException

    try:
        info = Vin(vin_text)
        manufacturer = str(info.manufacturer or '')
        country = str(info.country or '')
        region = str(info.region or '')
    except (VininfoException, KeyError, ValueError):
        manufacturer, country, region = '', '', ''
    if manufacturer == 'UnsupportedBrand':
        manufacturer = ''
    wmi = vin_text[:3]
    make = _MAKE_BY_WMI.get(wmi, manufacturer)
    model, source, year = '', '', model_year(vin_text)
    if is_north_american(vin_text):
        decoded = _vpic(vin_text)
        if decoded is not None:
            vpic_make, vpic_model, vpic_year = decoded
            make, model, source = vpic_make.title() if vpic_make.isupper() else vpic_make or make, vpic_model, 'vpic'
            year = vpic_year or year
    elif wmi in _VW_GROUP_WMIS and vin_text[6:8] in _VW_TYPES:
        model, source = _VW_TYPES[vin_text[6:8]], 'vw-type'
    return Vehicle(
        make=make, model=model, year=year, country=country, region=region, manufacturer=manufacturer, source=source
    )
