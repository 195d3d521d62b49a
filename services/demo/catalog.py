"""A deterministic, realistic demo auto-parts catalog (S1), written in the catalog's own formats.

The generator is pure standard library and draws every random choice from `random.Random.random()` only: that
method's output for an integer seed is stable across Python versions, while helpers such as `choice` or `sample`
have changed their algorithms before, so the same seed gives byte-identical files on any 3.11+ interpreter.

The product record and the JSON/CSV formats live in `services/catalog/formats.py` (docs/catalog-format.md); this
module only generates products.
"""

from __future__ import annotations

import gc
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..catalog.formats import (
    CatalogCode,
    CatalogFitment,
    CatalogProduct,
    ean13_check_digit,
    normalize_code,
    write_csv,
    write_json,
)

__all__ = ['generate_catalog', 'write_csv', 'write_json']

# ---------------------------------------------------------------------------------------------------------------
# Code patterns: '#' digit, '@' letter, '{a|b|c}' one alternative (alternatives may nest patterns),
# '$' the brand's code for the chosen variant (lamp type, battery size). Compiled once at import.
# ---------------------------------------------------------------------------------------------------------------

# A compiled pattern is a sequence of tokens: a literal str, None for '$', or a choice: a tuple of alternatives,
# each a literal str or a nested sequence (a tuple). '#' and '@' are just choices of single characters, so
# expansion has a single hot path.
_DIGIT_CHOICE = tuple('0123456789')
_LETTER_CHOICE = tuple('ABCDEFGHJKLMNPRSTUVWXYZ')  # no I, O, Q: makers avoid them because they read as 1 and 0
_Token = Any


def _compile(pattern: str) -> tuple[_Token, ...]:
    tokens: list[_Token] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            tokens.append(''.join(literal))
            literal.clear()

    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == '{':
            flush()
            depth, start, alternatives = 1, i + 1, []
            j = i + 1
            while depth:
                if j >= len(pattern):
                    raise ValueError(f'unbalanced braces in code pattern {pattern!r}')
                if pattern[j] == '{':
                    depth += 1
                elif pattern[j] == '}':
                    depth -= 1
                if (pattern[j] == '|' and depth == 1) or depth == 0:
                    alternative = _compile(pattern[start:j])
                    plain = all(isinstance(t, str) for t in alternative)
                    alternatives.append(''.join(alternative) if plain else alternative)
                    start = j + 1
                j += 1
            tokens.append(tuple(alternatives))
            i = j
            continue
        if ch in '#@$':
            flush()
            tokens.append(_DIGIT_CHOICE if ch == '#' else _LETTER_CHOICE if ch == '@' else None)
        else:
            literal.append(ch)
        i += 1
    flush()
    return tuple(tokens)


def _expand(tokens: tuple[_Token, ...], r: Callable[[], float], variant: tuple[_Token, ...]) -> str:
    out: list[str] = []
    append = out.append
    for token in tokens:
        if token.__class__ is str:
            append(token)
        elif token is None:
            append(_expand(variant, r, ()))
        else:
            chosen = token[int(r() * len(token))]
            append(chosen if chosen.__class__ is str else _expand(chosen, r, variant))
    return ''.join(out)


# ---------------------------------------------------------------------------------------------------------------
# Vehicles: families of models that share parts (same platform or engine). Each member is
# (make, model, year_from, year_to, engine, tags); tags: N nafta, D diesel, C timing chain (no belt kit).
# ---------------------------------------------------------------------------------------------------------------

_Member = tuple[str, str, int, int, str, str]


@dataclass(frozen=True, slots=True)
class _Family:
    weight: float
    price_factor: float  # pickups and mid-size cars pay more for the same kind of part
    members: tuple[_Member, ...]


VW, FORD, GM, FIAT, RENAULT = 'Volkswagen', 'Ford', 'Chevrolet', 'Fiat', 'Renault'
PEUGEOT, CITROEN, TOYOTA, NISSAN, HONDA = 'Peugeot', 'Citroën', 'Toyota', 'Nissan', 'Honda'
_SHORT_MAKE = {VW: 'VW'}

_FAMILIES: tuple[_Family, ...] = (
    _Family(
        12,
        1.0,
        (
            (VW, 'Gol', 1999, 2014, '1.6 8v', 'N'),
            (VW, 'Gol Trend', 2008, 2023, '1.6 8v', 'N'),
            (VW, 'Voyage', 2009, 2023, '1.6 8v', 'N'),
            (VW, 'Suran', 2006, 2019, '1.6 8v', 'N'),
            (VW, 'Fox', 2004, 2021, '1.6 8v', 'N'),
            (VW, 'Saveiro', 2010, 2023, '1.6 8v', 'N'),
            (VW, 'Gol', 2004, 2012, '1.4 8v', 'N'),
            (VW, 'Gol', 1999, 2008, '1.9 SD', 'D'),
        ),
    ),
    _Family(
        5,
        1.05,
        (
            (VW, 'Gol Trend', 2017, 2023, '1.6 MSI 16v', 'N'),
            (VW, 'Voyage', 2017, 2023, '1.6 MSI 16v', 'N'),
            (VW, 'Fox', 2017, 2021, '1.6 MSI 16v', 'N'),
            (VW, 'Saveiro', 2017, 2023, '1.6 MSI 16v', 'N'),
            (VW, 'Polo', 2018, 2026, '1.6 MSI 16v', 'N'),
            (VW, 'Virtus', 2018, 2026, '1.6 MSI 16v', 'N'),
            (VW, 'T-Cross', 2020, 2026, '1.6 MSI 16v', 'N'),
        ),
    ),
    _Family(
        4,
        1.15,
        (
            (VW, 'Golf', 1999, 2010, '2.0 8v', 'N'),
            (VW, 'Golf', 1999, 2010, '1.8T 20v', 'N'),
            (VW, 'Golf', 1999, 2006, '1.9 TDI', 'D'),
            (VW, 'Bora', 2000, 2015, '2.0 8v', 'N'),
            (VW, 'Bora', 2000, 2010, '1.9 TDI', 'D'),
            (VW, 'Vento', 2006, 2014, '2.5 20v', 'N'),
            (VW, 'Vento', 2006, 2014, '1.9 TDI', 'D'),
            (VW, 'Vento', 2010, 2020, '2.0 TSI', 'NC'),
            (VW, 'Vento', 2015, 2026, '1.4 TSI', 'N'),
            (VW, 'Taos', 2021, 2026, '1.4 TSI', 'N'),
            (VW, 'Tiguan', 2009, 2017, '2.0 TSI', 'NC'),
        ),
    ),
    _Family(
        3,
        1.3,
        (
            (VW, 'Amarok', 2010, 2026, '2.0 TDI', 'D'),
            (VW, 'Amarok', 2017, 2026, '3.0 V6 TDI', 'DC'),
        ),
    ),
    _Family(
        7,
        1.0,
        (
            (FORD, 'Fiesta', 2003, 2014, '1.6 Rocam', 'N'),
            (FORD, 'Ka', 1999, 2011, '1.6 Rocam', 'N'),
            (FORD, 'Ka', 2001, 2011, '1.0 Rocam', 'N'),
            (FORD, 'EcoSport', 2004, 2012, '1.6 Rocam', 'N'),
            (FORD, 'Courier', 1999, 2013, '1.6 Rocam', 'N'),
            (FORD, 'Fiesta', 2003, 2010, '1.4 TDCi', 'D'),
            (FORD, 'EcoSport', 2004, 2012, '1.4 TDCi', 'D'),
        ),
    ),
    _Family(
        5,
        1.05,
        (
            (FORD, 'Fiesta Kinetic', 2011, 2019, '1.6 Sigma 16v', 'N'),
            (FORD, 'Focus', 2009, 2019, '1.6 Sigma 16v', 'N'),
            (FORD, 'EcoSport', 2013, 2022, '1.6 Sigma 16v', 'N'),
            (FORD, 'Ka', 2016, 2021, '1.5 Sigma 16v', 'N'),
            (FORD, 'Ka', 2016, 2021, '1.5 Dragon', 'N'),
            (FORD, 'EcoSport', 2018, 2022, '1.5 Dragon', 'N'),
        ),
    ),
    _Family(
        4,
        1.15,
        (
            (FORD, 'Focus', 1999, 2008, '2.0 Zetec', 'N'),
            (FORD, 'Focus', 1999, 2008, '1.8 TDDi', 'D'),
            (FORD, 'Focus', 2008, 2013, '2.0 Duratec', 'NC'),
            (FORD, 'Focus', 2013, 2019, '2.0 GDI', 'NC'),
            (FORD, 'EcoSport', 2004, 2012, '2.0 Duratec', 'NC'),
            (FORD, 'Mondeo', 2008, 2014, '2.3 Duratec', 'NC'),
        ),
    ),
    _Family(
        4,
        1.3,
        (
            (FORD, 'Ranger', 1998, 2011, '3.0 PowerStroke', 'D'),
            (FORD, 'Ranger', 1998, 2011, '2.3 16v', 'NC'),
            (FORD, 'Ranger', 2012, 2026, '3.2 TDCi', 'DC'),
            (FORD, 'Ranger', 2012, 2026, '2.2 TDCi', 'DC'),
            (FORD, 'Ranger', 2012, 2017, '2.5 16v', 'NC'),
        ),
    ),
    _Family(
        10,
        1.0,
        (
            (GM, 'Corsa', 1996, 2010, '1.6 8v', 'N'),
            (GM, 'Corsa Classic', 2002, 2010, '1.6 8v', 'N'),
            (GM, 'Classic', 2010, 2016, '1.4 8v', 'N'),
            (GM, 'Agile', 2009, 2016, '1.4 8v', 'N'),
            (GM, 'Celta', 2006, 2015, '1.4 8v', 'N'),
            (GM, 'Prisma', 2013, 2019, '1.4 8v', 'N'),
            (GM, 'Onix', 2013, 2019, '1.4 8v', 'N'),
            (GM, 'Spin', 2013, 2026, '1.8 8v', 'N'),
            (GM, 'Meriva', 2003, 2012, '1.8 8v', 'N'),
            (GM, 'Montana', 2004, 2010, '1.8 8v', 'N'),
            (GM, 'Corsa', 1996, 2010, '1.7 D', 'D'),
        ),
    ),
    _Family(
        4,
        1.05,
        (
            (GM, 'Onix', 2020, 2026, '1.0 Turbo', 'N'),
            (GM, 'Onix Plus', 2020, 2026, '1.0 Turbo', 'N'),
            (GM, 'Onix', 2020, 2026, '1.2 12v', 'N'),
            (GM, 'Tracker', 2021, 2026, '1.2 Turbo', 'N'),
            (GM, 'Cruze', 2017, 2026, '1.4 Turbo', 'N'),
        ),
    ),
    _Family(
        4,
        1.2,
        (
            (GM, 'Cruze', 2011, 2016, '1.8 16v', 'N'),
            (GM, 'Tracker', 2013, 2019, '1.8 16v', 'N'),
            (GM, 'Cruze', 2011, 2015, '2.0 VCDi', 'D'),
            (GM, 'S10', 2012, 2026, '2.8 CTDI', 'D'),
            (GM, 'Trailblazer', 2013, 2026, '2.8 CTDI', 'D'),
            (GM, 'S10', 1996, 2011, '2.8 TD MWM', 'DC'),
            (GM, 'Captiva', 2008, 2015, '2.4 16v', 'NC'),
        ),
    ),
    _Family(
        11,
        1.0,
        (
            (FIAT, 'Palio', 2004, 2017, '1.4 Fire', 'N'),
            (FIAT, 'Siena', 2004, 2017, '1.4 Fire', 'N'),
            (FIAT, 'Uno', 2004, 2013, '1.3 Fire', 'N'),
            (FIAT, 'Uno', 2011, 2021, '1.4 Fire Evo', 'N'),
            (FIAT, 'Strada', 2005, 2020, '1.4 Fire', 'N'),
            (FIAT, 'Fiorino', 2005, 2026, '1.4 Fire', 'N'),
            (FIAT, 'Punto', 2008, 2016, '1.4 Fire', 'N'),
            (FIAT, 'Idea', 2006, 2016, '1.4 Fire', 'N'),
            (FIAT, 'Grand Siena', 2012, 2021, '1.4 Fire', 'N'),
            (FIAT, 'Palio', 1996, 2010, '1.6 16v', 'N'),
            (FIAT, 'Siena', 1997, 2010, '1.6 16v', 'N'),
        ),
    ),
    _Family(
        6,
        1.05,
        (
            (FIAT, 'Cronos', 2018, 2026, '1.3 Firefly', 'NC'),
            (FIAT, 'Argo', 2017, 2026, '1.3 Firefly', 'NC'),
            (FIAT, 'Cronos', 2018, 2026, '1.8 E.torQ', 'N'),
            (FIAT, 'Argo', 2017, 2022, '1.8 E.torQ', 'N'),
            (FIAT, 'Strada', 2021, 2026, '1.3 Firefly', 'NC'),
            (FIAT, 'Mobi', 2017, 2026, '1.0 Firefly', 'NC'),
            (FIAT, 'Toro', 2016, 2026, '1.8 E.torQ', 'N'),
            (FIAT, 'Pulse', 2022, 2026, '1.3 Firefly', 'NC'),
            (FIAT, 'Punto', 2008, 2016, '1.6 E.torQ', 'N'),
        ),
    ),
    _Family(
        3,
        1.2,
        (
            (FIAT, 'Toro', 2016, 2026, '2.0 Multijet', 'D'),
            (FIAT, 'Ducato', 2005, 2026, '2.3 Multijet', 'D'),
            (FIAT, 'Palio', 1998, 2010, '1.7 TD', 'D'),
            (FIAT, 'Siena', 1998, 2010, '1.7 TD', 'D'),
            (FIAT, 'Strada', 1999, 2010, '1.7 TD', 'D'),
        ),
    ),
    _Family(
        10,
        1.0,
        (
            (RENAULT, 'Clio', 1999, 2016, '1.2 16v', 'N'),
            (RENAULT, 'Clio', 1996, 2010, '1.6 8v K7M', 'N'),
            (RENAULT, 'Clio', 2001, 2012, '1.6 16v K4M', 'N'),
            (RENAULT, 'Kangoo', 1999, 2026, '1.6 8v K7M', 'N'),
            (RENAULT, 'Kangoo', 2008, 2026, '1.6 16v K4M', 'N'),
            (RENAULT, 'Sandero', 2008, 2026, '1.6 8v K7M', 'N'),
            (RENAULT, 'Sandero', 2010, 2026, '1.6 16v K4M', 'N'),
            (RENAULT, 'Logan', 2007, 2026, '1.6 8v K7M', 'N'),
            (RENAULT, 'Logan', 2014, 2026, '1.6 16v K4M', 'N'),
            (RENAULT, 'Duster', 2011, 2026, '1.6 16v K4M', 'N'),
            (RENAULT, 'Symbol', 2009, 2013, '1.6 16v K4M', 'N'),
            (RENAULT, 'Megane', 1998, 2011, '1.6 16v K4M', 'N'),
            (RENAULT, 'Stepway', 2009, 2026, '1.6 16v K4M', 'N'),
            (RENAULT, 'Kwid', 2017, 2026, '1.0 SCe', 'NC'),
        ),
    ),
    _Family(
        4,
        1.15,
        (
            (RENAULT, 'Duster', 2012, 2020, '2.0 16v F4R', 'N'),
            (RENAULT, 'Sandero RS', 2015, 2022, '2.0 16v F4R', 'N'),
            (RENAULT, 'Fluence', 2011, 2018, '2.0 16v F4R', 'N'),
            (RENAULT, 'Megane', 2006, 2011, '2.0 16v F4R', 'N'),
            (RENAULT, 'Duster Oroch', 2016, 2026, '2.0 16v F4R', 'N'),
            (RENAULT, 'Megane', 1999, 2010, '1.9 dCi', 'D'),
            (RENAULT, 'Kangoo', 2000, 2018, '1.5 dCi', 'D'),
            (RENAULT, 'Clio', 2004, 2012, '1.5 dCi', 'D'),
            (RENAULT, 'Kangoo', 1999, 2008, '1.9 D', 'D'),
        ),
    ),
    _Family(
        9,
        1.0,
        (
            (PEUGEOT, '206', 1999, 2013, '1.4 8v', 'N'),
            (PEUGEOT, '206', 1999, 2010, '1.6 16v', 'N'),
            (PEUGEOT, '207 Compact', 2008, 2016, '1.4 8v', 'N'),
            (PEUGEOT, '207 Compact', 2008, 2016, '1.6 16v', 'N'),
            (PEUGEOT, 'Partner', 1997, 2026, '1.4 8v', 'N'),
            (CITROEN, 'Berlingo', 1997, 2026, '1.4 8v', 'N'),
            (CITROEN, 'C3', 2003, 2012, '1.4 8v', 'N'),
            (CITROEN, 'C3', 2003, 2012, '1.6 16v', 'N'),
            (PEUGEOT, '208', 2013, 2020, '1.5 8v', 'N'),
            (PEUGEOT, '208', 2013, 2026, '1.6 16v', 'N'),
            (PEUGEOT, '307', 2001, 2012, '1.6 16v', 'N'),
            (CITROEN, 'Xsara Picasso', 2001, 2012, '1.6 16v', 'N'),
            (PEUGEOT, '2008', 2016, 2026, '1.6 16v', 'N'),
        ),
    ),
    _Family(
        5,
        1.15,
        (
            (PEUGEOT, '206', 2001, 2009, '2.0 HDi', 'D'),
            (PEUGEOT, '307', 2002, 2012, '2.0 HDi', 'D'),
            (PEUGEOT, 'Partner', 2010, 2026, '1.6 HDi', 'D'),
            (CITROEN, 'Berlingo', 2010, 2026, '1.6 HDi', 'D'),
            (PEUGEOT, 'Partner', 1997, 2010, '1.9 D', 'D'),
            (CITROEN, 'Berlingo', 1997, 2010, '1.9 D', 'D'),
            (PEUGEOT, '308', 2012, 2022, '1.6 THP', 'NC'),
            (PEUGEOT, '408', 2010, 2022, '1.6 THP', 'NC'),
            (PEUGEOT, '408', 2010, 2019, '2.0 16v', 'N'),
            (CITROEN, 'C4', 2007, 2015, '2.0 16v', 'N'),
            (CITROEN, 'C4 Lounge', 2013, 2022, '1.6 THP', 'NC'),
            (PEUGEOT, '3008', 2010, 2026, '1.6 THP', 'NC'),
            (PEUGEOT, '308', 2012, 2022, '1.6 HDi', 'D'),
        ),
    ),
    _Family(
        5,
        1.15,
        (
            (TOYOTA, 'Corolla', 2003, 2008, '1.8 16v', 'NC'),
            (TOYOTA, 'Corolla', 2008, 2019, '1.8 16v VVT-i', 'NC'),
            (TOYOTA, 'Corolla', 2020, 2026, '2.0 16v', 'NC'),
            (TOYOTA, 'Etios', 2013, 2023, '1.5 16v', 'NC'),
            (TOYOTA, 'Yaris', 2018, 2026, '1.5 16v', 'NC'),
            (TOYOTA, 'Corolla Cross', 2021, 2026, '2.0 16v', 'NC'),
        ),
    ),
    _Family(
        4,
        1.3,
        (
            (TOYOTA, 'Hilux', 2005, 2015, '3.0 D-4D', 'D'),
            (TOYOTA, 'Hilux', 2005, 2015, '2.5 D-4D', 'D'),
            (TOYOTA, 'Hilux', 2016, 2026, '2.8 TDI', 'DC'),
            (TOYOTA, 'Hilux', 2016, 2026, '2.4 TDI', 'DC'),
            (TOYOTA, 'SW4', 2016, 2026, '2.8 TDI', 'DC'),
            (TOYOTA, 'SW4', 2005, 2015, '3.0 D-4D', 'D'),
            (TOYOTA, 'Hilux', 2005, 2015, '2.7 VVT-i', 'NC'),
        ),
    ),
    _Family(
        3,
        1.1,
        (
            (NISSAN, 'March', 2011, 2020, '1.6 16v', 'NC'),
            (NISSAN, 'Versa', 2011, 2026, '1.6 16v', 'NC'),
            (NISSAN, 'Kicks', 2017, 2026, '1.6 16v', 'NC'),
            (NISSAN, 'Sentra', 2007, 2019, '2.0 16v', 'NC'),
            (NISSAN, 'Tiida', 2007, 2013, '1.8 16v', 'NC'),
            (NISSAN, 'Frontier', 2008, 2015, '2.5 dCi', 'DC'),
            (NISSAN, 'Frontier', 2016, 2026, '2.3 dCi', 'DC'),
        ),
    ),
    _Family(
        2,
        1.15,
        (
            (HONDA, 'Civic', 2006, 2016, '1.8 16v', 'NC'),
            (HONDA, 'Fit', 2009, 2020, '1.5 16v', 'NC'),
            (HONDA, 'City', 2009, 2020, '1.5 16v', 'NC'),
            (HONDA, 'CR-V', 2007, 2017, '2.4 16v', 'NC'),
            (HONDA, 'HR-V', 2015, 2026, '1.8 16v', 'NC'),
        ),
    ),
)

# A part type's `requires` filters the members it can fit.
_REQUIREMENTS: dict[str, Callable[[str], bool]] = {
    '': lambda tags: True,
    'N': lambda tags: 'N' in tags,
    'D': lambda tags: 'D' in tags,
    'belt': lambda tags: 'C' not in tags,
    'chain': lambda tags: 'C' in tags,
}

# OEM numbers in each maker's own style (VW '5U0698151A', Fiat '46447389', Renault '7701208174', PSA '4254.A7').
_OEM_PATTERNS: dict[str, tuple[tuple[_Token, ...], ...]] = {
    make: tuple(_compile(p) for p in patterns)
    for make, patterns in {
        VW: ('{5U0|5Z0|6Q0|1J0|1K0|6R0|2H0|5X0|377|030|036|032|04E|06A|7E0|2K0}######{|A|B|C|D|E|F|G|H|J|K|AB|AC}',),
        FORD: (
            '{2S6J|8A6G|C1BJ|AB39|EB3G|XS6E|98AB|1S6E|2N11|E1BG|BE8Z|CN15|AB31}-{####|#@###|##@##}'
            '-{AA|AB|AC|BA|BB|CA|DA}',
        ),
        GM: ('{933|930|900|950|524|525|132|134|963|962|246|943}#####',),
        FIAT: ('{46|51|55|77|52|71}######',),
        RENAULT: ('{7700|7701|7711|8200|8201}######', '{41060|54618|40206|54500|16546|21200|15208}####R'),
        PEUGEOT: ('{42|11|14|52|96|19|12|16}##.{@@|@#|#@}', '{98|16|96}########'),
        CITROEN: ('{42|11|14|52|96|19|12|16}##.{@@|@#|#@}', '{98|16|96}########'),
        TOYOTA: (
            '{04465|04466|90915|17801|48510|48520|16100|13568|90919|04152|87139|04495|48609}'
            '-{0K|02|0D|12|47|35|0L|YZ}###',
        ),
        NISSAN: ('{41060|15208|16546|27277|44060|13028|54618|55302|40206|22401}-{@@@#@|#@@#@|@@###}',),
        HONDA: ('{45022|15400|17220|19200|51605|52611|31200|06431|22810}-{@@@}-{@##|###|@#@}',),
    }.items()
}

# GS1 company/country prefixes so EANs look like the brand's real ones (779 Argentina, 789 Brazil, 40-44 Germany).
_EAN_PREFIX = {
    'Bosch': '4047025',
    'Mann-Filter': '4011558',
    'Mahle': '4009026',
    'SKF': '7316574',
    'FAG': '4005108',
    'INA': '4005108',
    'LuK': '4005108',
    'Lemförder': '4005108',
    'Monroe': '5412096',
    'Sachs': '4013872',
    'Ferodo': '5013527',
    'TRW': '4030663',
    'Brembo': '8020584',
    'ATE': '4006633',
    'Jurid': '4006633',
    'NGK': '8718',
    'Champion': '036',
    'Denso': '8717',
    'Beru': '4014427',
    'Magneti Marelli': '8001063',
    'Delphi': '5050100',
    'Hella': '4082300',
    'VDO': '4038',
    'Elring': '4041248',
    'Victor Reinz': '4017869',
    'Corteco': '4018358',
    'KS Kolbenschmidt': '4028977',
    'Gates': '5414465',
    'Dayco': '8021787',
    'Contitech': '4028977',
    'febi bilstein': '4027816',
    'Dolz': '8430',
    'Saleri SIL': '8024',
    'Valeo': '3276',
    'Nissens': '5707286',
    'Wahler': '4009',
    'Motul': '3374650',
    'Philips': '8711500',
    'Osram': '4008321',
    'Narva': '4013790',
    'Depo': '471',
    'Stabilus': '4027',
    'Walker': '5411',
    'Bosal': '5410',
    'ZF': '4031',
    'Sanden': '49',
    'Exedy': '4907',
    'KYB': '4909',
    'Lesjöfors': '7318',
    'Melling': '0',
    'Prestone': '0',
    'Fram': '789',
    'Tecfil': '789',
    'Wix': '765',
    'Cofap': '789',
    'Fras-le': '789',
    'Cobreq': '789',
    'Fremax': '789',
    'Hipper Freios': '789',
    'Sabó': '789',
    'Sampel': '789',
    'MTE-Thomson': '789',
    'Cofle': '789',
    'Moura': '789',
    'Metagal': '789',
    'FAE': '8430',
    'GKN': '4030',
}
_DEFAULT_EAN_PREFIX = '779'  # Argentine brands: Corven, Fric-Rot, Wega, Taranto, YPF, Fitam, Mastra...


# ---------------------------------------------------------------------------------------------------------------
# Part types
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    name: str
    factor: float
    pattern: tuple[_Token, ...]


@dataclass(frozen=True, slots=True)
class _Brand:
    name: str
    tier: float  # premium brands cost more than economy ones for the same part
    lines: tuple[_Line, ...]
    variant_codes: Mapping[str, tuple[_Token, ...]]


@dataclass(frozen=True, slots=True)
class _PartType:
    category: str
    name: str
    variants: tuple[tuple[str, float], ...]
    price: tuple[float, float]  # ARS without IVA for the base variant
    fit: str  # 'engine' | 'vehicle' | 'chassis' | 'optional' | 'universal' (see _fitments)
    brands: tuple[_Brand, ...]
    weight: float
    title_code: float  # probability that the title shows the part number
    title_vehicle: float  # probability that the title names the vehicle
    requires: str
    same_engine: bool  # engine-internal parts (timing kits, gaskets) fit one engine, not a whole family
    variant_last: bool  # "Aceite ... 4 L" reads better with the size at the end
    features: tuple[str, ...]


def _brand(
    name: str, tier: float, *lines: str | tuple[str, float, str], variant_codes: Mapping[str, str] | None = None
) -> _Brand:
    compiled = tuple(
        _Line('', 1.0, _compile(line)) if isinstance(line, str) else _Line(line[0], line[1], _compile(line[2]))
        for line in lines
    )
    return _Brand(name, tier, compiled, {k: _compile(v) for k, v in (variant_codes or {}).items()})


def _type(  # noqa: PLR0917 - each call is a table row; positional columns keep the table readable
    category: str,
    name: str,
    variants: Sequence[tuple[str, float]],
    price: tuple[float, float],
    fit: str,
    brands: Sequence[_Brand],
    *,
    weight: float,
    title_code: float = 0.6,
    title_vehicle: float = 0.8,
    requires: str = '',
    same_engine: bool = False,
    variant_last: bool = False,
    features: Sequence[str] = (),
) -> _PartType:
    return _PartType(
        category,
        name,
        tuple(variants),
        price,
        fit,
        tuple(brands),
        weight,
        title_code,
        title_vehicle,
        requires,
        same_engine,
        variant_last,
        tuple(features),
    )


_ONE = (('', 1.0),)
_FRONT_REAR_F = (('delanteras', 1.0), ('traseras', 0.85))
_LEFT_RIGHT_F = (('izquierda', 1.0), ('derecha', 1.0))
_LEFT_RIGHT_M = (('izquierdo', 1.0), ('derecho', 1.0))

# Shared brand lines (several part types use the same maker numbering).
_TARANTO = _brand('Taranto', 0.9, '{52|53|54|55}####')
_ELRING = _brand('Elring', 1.1, '###.###')
_REINZ = _brand('Victor Reinz', 1.05, '{61|71}-#####-{00|10|20}')
_SADAR = _brand('Sadar', 0.85, 'SA-{####|#####}')
_FRICROT = _brand('Fric-Rot', 0.9, 'FR-{####|#####}')
_LEMFORDER = _brand('Lemförder', 1.15, '{##|###} ### 01')
_CORVEN = _brand('Corven', 0.95, 'CV-{####|#####}')
_FITAM = _brand('Fitam', 0.9, '{1|2|3}####{|I|D}')
_MTE = _brand('MTE-Thomson', 0.9, '{3|4|7}###')

# Lamps: the base number depends on the bulb type (Philips H7 = 12972, Osram H7 = 64210).
_BULBS = (
    ('H7 12V 55W', 1.0),
    ('H4 12V 60/55W', 1.1),
    ('H1 12V 55W', 0.9),
    ('H3 12V 55W', 0.9),
    ('H11 12V 55W', 1.3),
    ('HB3 12V 60W', 1.3),
    ('HB4 12V 51W', 1.3),
    ('H27W/1 12V 27W', 1.1),
    ('P21W 12V 21W', 0.3),
    ('PY21W 12V 21W', 0.35),
    ('P21/5W 12V 21/5W', 0.35),
    ('W5W 12V 5W', 0.25),
    ('R5W 12V 5W', 0.25),
)
_PHILIPS_BULBS = dict(
    zip(
        (b for b, _ in _BULBS),
        (
            '12972',
            '12342',
            '12258',
            '12336',
            '12362',
            '9005',
            '9006',
            '12059',
            '12498',
            '12496',
            '12499',
            '12961',
            '12821',
        ),
        strict=True,
    )
)
_OSRAM_BULBS = dict(
    zip(
        (b for b, _ in _BULBS),
        ('64210', '64193', '64150', '64151', '64211', '9005', '9006', '880', '7506', '7507', '7528', '2825', '5007'),
        strict=True,
    )
)
_BATTERIES = (
    ('12V 45 Ah', 0.8),
    ('12V 55 Ah', 0.9),
    ('12V 65 Ah', 1.0),
    ('12V 75 Ah', 1.2),
    ('12V 90 Ah', 1.45),
    ('12V 110 Ah', 1.8),
)
_OIL_SIZES = (('1 L', 1.0), ('4 L', 3.6), ('5 L', 4.4))

_TYPES: tuple[_PartType, ...] = (
    # --- Frenos ---------------------------------------------------------------------------------------------
    _type(
        'Frenos',
        'Pastillas de freno',
        _FRONT_REAR_F,
        (42000, 88000),
        'chassis',
        (
            _brand('Ferodo', 1.0, 'FDB####', ('Premier', 1.1, 'FDB####')),
            _brand('TRW', 1.05, 'GDB####'),
            _brand('Bosch', 1.1, '0 986 {424|494|BB0} ###'),
            _brand('Fras-le', 0.9, 'PD/{###|####}'),
            _brand('Cobreq', 0.85, 'N-{###|####}'),
            _brand('Jurid', 0.95, 'HQJ-####'),
        ),
        weight=4.5,
        title_code=0.75,
        title_vehicle=0.9,
        features=(
            'Compuesto de bajo nivel de polvo y ruido.',
            'Libres de asbesto.',
            'Homologadas según norma ECE R90.',
            'Juego para un eje (4 pastillas).',
            'Incluye láminas antirruido.',
        ),
    ),
    _type(
        'Frenos',
        'Discos de freno',
        (('delanteros ventilados (par)', 1.2), ('delanteros sólidos (par)', 1.0), ('traseros (par)', 0.9)),
        (85000, 190000),
        'chassis',
        (
            _brand('Fremax', 0.9, 'BD-{####|#####}'),
            _brand('Hipper Freios', 0.85, 'HF {##|###}{|A|B}'),
            _brand('TRW', 1.05, 'DF{####|#####}'),
            _brand('Brembo', 1.3, '09.{@###|####}.{10|11|20|21}'),
            _brand('Bosch', 1.1, '0 986 479 {@##|###}'),
        ),
        weight=2.5,
        title_code=0.5,
        features=(
            'Fundición gris de alta resistencia térmica.',
            'Se recomienda cambiar las pastillas junto con los discos.',
            'Venta por par.',
            'Con tratamiento anticorrosivo.',
        ),
    ),
    _type(
        'Frenos',
        'Zapatas de freno traseras',
        (('(juego)', 1.0),),
        (38000, 78000),
        'chassis',
        (
            _brand('Fras-le', 0.9, 'FI/{###|####}'),
            _brand('Cobreq', 0.85, 'CB-{###|####}'),
            _brand('Ferodo', 1.0, 'FSB{###|####}'),
            _brand('TRW', 1.05, 'GS8{###|####}'),
            _brand('Bosch', 1.1, '0 986 487 ###'),
        ),
        weight=1.5,
        features=('Juego para ambas ruedas traseras.', 'Cintas remachadas, libres de asbesto.'),
    ),
    _type(
        'Frenos',
        'Campana de freno trasera',
        _ONE,
        (65000, 140000),
        'chassis',
        (
            _brand('Fremax', 0.9, 'BD-{####|#####}'),
            _brand('Hipper Freios', 0.85, 'HF {##|###}{|A|B}'),
            _brand('TRW', 1.05, 'DB{####|#####}'),
        ),
        weight=1.0,
        features=('Venta por unidad.', 'Balanceada en fábrica.'),
    ),
    _type(
        'Frenos',
        'Bomba de freno',
        (('', 1.0), ('con depósito', 1.15)),
        (85000, 180000),
        'chassis',
        (
            _brand('TRW', 1.05, 'PMH{###|####}'),
            _brand('Bosch', 1.1, '0 986 4{80|81} ###'),
            _brand('ATE', 1.1, '24.21{##}-####.3'),
        ),
        weight=1.0,
        features=('Doble circuito.', 'Se recomienda purgar el sistema con líquido DOT 4 nuevo.'),
    ),
    _type(
        'Frenos',
        'Cilindro de rueda trasero',
        _ONE,
        (22000, 52000),
        'chassis',
        (
            _brand('TRW', 1.05, 'BWD{###|####}'),
            _brand('Bosch', 1.1, 'F 026 002 ###'),
            _brand('ATE', 1.1, '24.32{##}-####.3'),
        ),
        weight=1.0,
        features=('Cuerpo de aluminio.', 'Incluye guardapolvos y purgador.'),
    ),
    _type(
        'Frenos',
        'Flexible de freno',
        (('delantero', 1.0), ('trasero', 0.9)),
        (14000, 34000),
        'chassis',
        (
            _brand('TRW', 1.05, 'PHD{###|####}'),
            _brand('Bosch', 1.1, '1 987 481 ###'),
            _brand('Fras-le', 0.9, 'FL-{####}'),
        ),
        weight=0.8,
        features=('Malla textil reforzada.', 'Venta por unidad.'),
    ),
    _type(
        'Frenos',
        'Líquido de frenos',
        (('DOT 4 500 ml', 1.0), ('DOT 4 1 L', 1.8), ('DOT 3 500 ml', 0.8), ('DOT 5.1 500 ml', 1.5)),
        (8000, 14000),
        'universal',
        (
            _brand('Bosch', 1.1, '1 987 479 {###}'),
            _brand('Castrol', 1.05, ('React Performance', 1.0, '15{C|D|E}{###|####}')),
            _brand('Motul', 1.2, '10{2|4|9}###'),
            _brand('Valvoline', 1.0, 'VV{7|8}####'),
        ),
        weight=0.6,
        title_code=0.0,
        variant_last=True,
        features=(
            'Punto de ebullición elevado.',
            'Reemplazar cada dos años o según el manual del vehículo.',
            'Compatible con sistemas ABS.',
        ),
    ),
    # --- Filtros --------------------------------------------------------------------------------------------
    _type(
        'Filtros',
        'Filtro de aceite',
        _ONE,
        (8000, 21000),
        'engine',
        (
            _brand('Fram', 1.0, '{PH####|PH#####|CH#####ECO}'),
            _brand('Mann-Filter', 1.1, '{W ###/##|W ###/#|HU ###/# x|W ##/#}'),
            _brand('Mahle', 1.1, '{OC ###|OX ###D|OC ###/#}'),
            _brand('Bosch', 1.0, '{0 986 4B2 ###|0 451 103 ###|F 026 407 ###}'),
            _brand('Wega', 0.85, '{WO-###|WOE-###}'),
            _brand('Tecfil', 0.8, 'PSL ###'),
            _brand('Wix', 0.9, 'WL7###'),
        ),
        weight=3.5,
        title_code=0.9,
        title_vehicle=0.4,
        features=(
            'Válvula antidrenaje de silicona.',
            'Papel filtrante de alta retención.',
            'Cambiar en cada service junto con el aceite.',
        ),
    ),
    _type(
        'Filtros',
        'Filtro de aire',
        _ONE,
        (12000, 34000),
        'engine',
        (
            _brand('Fram', 1.0, 'CA#####'),
            _brand('Mann-Filter', 1.1, 'C ## ###{|/1|/2}'),
            _brand('Mahle', 1.1, 'LX ####{|/1}'),
            _brand('Wega', 0.85, '{FAP-####|JFA-0###}'),
            _brand('Bosch', 1.0, 'F 026 400 ###'),
            _brand('Tecfil', 0.8, 'ARL ####'),
        ),
        weight=3.0,
        title_code=0.85,
        title_vehicle=0.5,
        features=(
            'Medio filtrante de celulosa plisada.',
            'Reemplazar cada 10.000 km o en cada service.',
            'En caminos de tierra, revisar con mayor frecuencia.',
        ),
    ),
    _type(
        'Filtros',
        'Filtro de nafta',
        _ONE,
        (9000, 24000),
        'engine',
        (
            _brand('Fram', 1.0, 'G {####|#####}'),
            _brand('Mann-Filter', 1.1, 'WK {###|###/#}'),
            _brand('Mahle', 1.1, 'KL {###|###D}'),
            _brand('Wega', 0.85, 'FCI-{####}'),
            _brand('Bosch', 1.0, '0 450 905 ###'),
        ),
        weight=1.5,
        title_code=0.85,
        title_vehicle=0.5,
        requires='N',
        features=('Carcasa metálica con conexiones rápidas.', 'Filtrado de 10 micrones.'),
    ),
    _type(
        'Filtros',
        'Filtro de gasoil',
        _ONE,
        (22000, 60000),
        'engine',
        (
            _brand('Fram', 1.0, 'PS{####|#####}'),
            _brand('Mann-Filter', 1.1, 'WK {###|###/#} x'),
            _brand('Mahle', 1.1, 'KX {###|###D}'),
            _brand('Wega', 0.85, 'FCD-0{###}'),
            _brand('Bosch', 1.0, 'F 026 402 ###'),
        ),
        weight=1.0,
        title_code=0.85,
        title_vehicle=0.6,
        requires='D',
        features=('Con separador de agua.', 'Indispensable para sistemas common rail.'),
    ),
    _type(
        'Filtros',
        'Filtro de habitáculo',
        (('', 1.0), ('con carbón activado', 1.4)),
        (11000, 28000),
        'chassis',
        (
            _brand('Fram', 1.0, 'CF{#####}'),
            _brand('Mann-Filter', 1.1, '{CU|CUK} ####{|-2}'),
            _brand('Mahle', 1.1, '{LA|LAK} {###|####}'),
            _brand('Wega', 0.85, 'AKX-{####}'),
            _brand('Bosch', 1.0, '1 987 432 ###'),
        ),
        weight=2.0,
        title_code=0.8,
        title_vehicle=0.6,
        features=('Retiene polen, polvo y partículas.', 'Mejora el rendimiento del aire acondicionado.'),
    ),
    # --- Suspensión -----------------------------------------------------------------------------------------
    _type(
        'Suspensión',
        'Amortiguador',
        (('delantero', 1.0), ('trasero', 0.85)),
        (78000, 190000),
        'chassis',
        (
            _brand('Monroe', 1.1, ('Gas-Matic', 1.0, 'G{####|#####}'), ('OESpectrum', 1.25, '7####{|R|L}')),
            _brand('Corven', 0.95, '{AM|AT}-{####}'),
            _brand('Fric-Rot', 0.9, 'FR-A{####}'),
            _brand('Sachs', 1.15, '{313 ###|317 ###|556 ###}'),
            _brand('Cofap', 0.95, ('Turbogas', 1.0, 'GB{#####}')),
            _brand('KYB', 1.1, ('Excel-G', 1.0, '{33|34}####')),
        ),
        weight=4.0,
        title_code=0.3,
        title_vehicle=0.95,
        features=(
            'Presurizado a gas.',
            'Se recomienda reemplazar de a pares por eje.',
            'Venta por unidad.',
            'Incluye kit de fijación.',
        ),
    ),
    _type(
        'Suspensión',
        'Parrilla de suspensión',
        (('delantera izquierda', 1.0), ('delantera derecha', 1.0)),
        (55000, 150000),
        'chassis',
        (
            _brand('TRW', 1.05, 'JTC{###|####}'),
            _LEMFORDER,
            _SADAR,
            _FRICROT,
        ),
        weight=1.5,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Incluye bujes y rótula.', 'Acero estampado con tratamiento anticorrosivo.'),
    ),
    _type(
        'Suspensión',
        'Rótula de suspensión',
        (('inferior', 1.0),),
        (14000, 38000),
        'chassis',
        (
            _brand('TRW', 1.05, 'JBJ{###|####}'),
            _FRICROT,
            _SADAR,
            _LEMFORDER,
        ),
        weight=1.5,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Venta por unidad.', 'Incluye tuerca autofrenante.'),
    ),
    _type(
        'Suspensión',
        'Bieleta de barra estabilizadora',
        (('delantera', 1.0), ('trasera', 0.9)),
        (11000, 29000),
        'chassis',
        (_brand('TRW', 1.05, 'JTS{###|####}'), _FRICROT, _SADAR, _LEMFORDER),
        weight=1.2,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Venta por unidad.',),
    ),
    _type(
        'Suspensión',
        'Buje de parrilla',
        (('delantero', 1.0), ('trasero', 1.0)),
        (4500, 14000),
        'chassis',
        (
            _SADAR,
            _FRICROT,
            _brand('Sampel', 0.9, '{1|2|3|4}###'),
        ),
        weight=1.0,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Caucho de alta durabilidad.',),
    ),
    _type(
        'Suspensión',
        'Cazoleta de amortiguador',
        (('delantera', 1.0),),
        (22000, 58000),
        'chassis',
        (
            _CORVEN,
            _SADAR,
            _brand('Sampel', 0.9, '{1|2|3|4}###'),
        ),
        weight=1.0,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Con rulemán.', 'Venta por unidad.'),
    ),
    _type(
        'Suspensión',
        'Espiral de suspensión',
        (('delantero', 1.0), ('trasero', 0.95)),
        (42000, 105000),
        'chassis',
        (
            _brand('Sachs', 1.15, '99# ###'),
            _brand('Lesjöfors', 1.1, '4{0|2|9}#####'),
            _CORVEN,
            _FRICROT,
        ),
        weight=0.8,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Venta por unidad.', 'Acero al cromo-silicio.'),
    ),
    _type(
        'Suspensión',
        'Rulemán de rueda',
        (('delantero', 1.0), ('trasero', 0.9)),
        (32000, 95000),
        'chassis',
        (
            _brand('SKF', 1.1, 'VKBA {####}'),
            _brand('FAG', 1.1, '713 6{1|3|5}# ###'),
        ),
        weight=1.5,
        title_code=0.6,
        title_vehicle=0.9,
        features=('Kit con tuerca y seguro.', 'Sellado y lubricado de por vida.'),
    ),
    _type(
        'Suspensión',
        'Maza de rueda trasera con rulemán',
        _ONE,
        (80000, 190000),
        'chassis',
        (
            _brand('SKF', 1.1, 'VKBA {####}'),
            _brand('FAG', 1.1, '713 6{1|3|5}# ###'),
        ),
        weight=0.6,
        title_code=0.5,
        title_vehicle=0.95,
        features=('Con anillo de sensor ABS según versión.',),
    ),
    # --- Encendido ------------------------------------------------------------------------------------------
    _type(
        'Encendido',
        '',
        (('Bujía', 1.0), ('Juego de 4 bujías', 3.9)),
        (7500, 11000),
        'engine',
        (
            _brand(
                'NGK',
                1.0,
                '{BKR|BPR|BCPR|ZFR|LFR|PFR|DCPR|BKUR|BUR}{5|6|7}{E|ES|E-11|EY|EZ}',
                ('Iridium IX', 3.2, '{BKR|BPR|LFR|DCPR|ZFR}{5|6|7}{EIX|EIX-11|IX}'),
                ('Laser Iridium', 4.0, '{ILKAR|IFR|DILKAR|SILZKR}{6|7|8}{A|B|C|D}{|8|11}'),
            ),
            _brand('Champion', 0.9, '{RN|RC|RER}{8|9|10|12}{YC|YCC|MC}'),
            _brand(
                'Bosch',
                1.0,
                ('Super Plus', 1.0, '{FR|WR|HR}{6|7|8}{DC|DCX|DPP|LDC}{|+}'),
                ('Double Platinum', 2.6, '{FR|HR|ZR}{5|6|7}{KPP|DPP|NPP}{33|332|33S}'),
            ),
            _brand(
                'Denso',
                1.0,
                '{K16PR|Q20PR|K20PR|KJ16CR|XU22EPR}-U{|11}',
                ('Iridium Power', 3.0, '{IK|IQ|IW}{16|20|22}{|TT}'),
            ),
        ),
        weight=2.5,
        title_code=0.95,
        title_vehicle=0.3,
        requires='N',
        features=(
            'Electrodo de níquel con núcleo de cobre.',
            'Verificar calibración antes de instalar.',
            'Reemplazar según el plan de mantenimiento del fabricante.',
        ),
    ),
    _type(
        'Encendido',
        'Bujía de precalentamiento',
        _ONE,
        (14000, 38000),
        'engine',
        (
            _brand('Bosch', 1.0, ('Duraterm', 1.0, '0 250 {202|203|212} ###')),
            _brand('NGK', 1.0, 'Y-{###|####}{|J|R|AS}'),
            _brand('Beru', 1.05, '{GN|GE|GV} ###'),
            _brand('Champion', 0.9, 'CH{###}'),
        ),
        weight=0.7,
        title_code=0.8,
        title_vehicle=0.6,
        requires='D',
        features=('Calentamiento rápido para arranque en frío.', 'Venta por unidad.'),
    ),
    _type(
        'Encendido',
        'Cables de bujía (juego)',
        _ONE,
        (28000, 85000),
        'engine',
        (
            _brand('NGK', 1.0, 'SC{T|G|P}-{##|###}'),
            _brand('Bosch', 1.1, '0 986 356 ###'),
            _brand('Ferrazzi', 0.85, 'FC-{####}'),
            _brand('Champion', 0.9, 'CLS{###}'),
        ),
        weight=1.0,
        title_code=0.6,
        title_vehicle=0.9,
        requires='N',
        features=('Cable de silicona con supresión de interferencias.', 'Juego completo listo para instalar.'),
    ),
    _type(
        'Encendido',
        'Bobina de encendido',
        _ONE,
        (55000, 170000),
        'engine',
        (
            _brand('Bosch', 1.1, '{0 221 504 ###|0 221 604 ###|F 000 ZS0 ###}'),
            _brand('Magneti Marelli', 1.0, '{BAE ###{|A|D}|BI00##MM}'),
            _brand('Delphi', 1.0, 'GN10{###}'),
            _brand('Beru', 1.05, 'ZS {###}'),
            _brand('NGK', 1.0, 'U{2|5}0##'),
        ),
        weight=1.3,
        title_code=0.6,
        title_vehicle=0.9,
        requires='N',
        features=('Probada al 100 % en fábrica.', 'Conector original, instalación directa.'),
    ),
    # --- Inyección ------------------------------------------------------------------------------------------
    _type(
        'Inyección',
        'Sonda lambda',
        (('', 1.0), ('precatalizador', 1.1), ('poscatalizador', 1.0)),
        (58000, 170000),
        'engine',
        (
            _brand('Bosch', 1.1, '0 258 0{06|10|17} ###'),
            _brand('NGK', 1.0, ('NTK', 1.0, 'OZA{###}-{EE|V}#')),
            _brand('Delphi', 1.0, 'ES{10|20}###-12B1'),
            _brand('Magneti Marelli', 1.0, 'SLM{###}'),
        ),
        weight=1.0,
        title_code=0.6,
        title_vehicle=0.9,
        requires='N',
        features=('Sensor de oxígeno calefaccionado.', 'Ficha original.'),
    ),
    _type(
        'Inyección',
        'Bomba de combustible',
        (('eléctrica', 1.0), ('completa con flotante', 1.8)),
        (65000, 160000),
        'engine',
        (
            _brand('Bosch', 1.1, '{0 580 453 ###|0 580 200 ###|F 000 TE1 ###}'),
            _brand('Magneti Marelli', 1.0, 'MAM00{###}'),
            _brand('Delphi', 1.0, 'FE0{###}-12B1'),
            _brand('VDO', 1.05, '{E22|A2C}-###-###{|Z}'),
        ),
        weight=1.0,
        title_code=0.5,
        title_vehicle=0.9,
        requires='N',
        features=(
            'Caudal y presión según especificación original.',
            'Reemplazar el filtro de combustible al instalar.',
        ),
    ),
    _type(
        'Inyección',
        'Inyector de nafta',
        _ONE,
        (32000, 85000),
        'engine',
        (
            _brand('Bosch', 1.1, '0 280 15{0|5|6|8} ###'),
            _brand('Magneti Marelli', 1.0, 'IWP {###}'),
            _brand('Delphi', 1.0, 'FJ10{###}-12B1'),
        ),
        weight=0.8,
        title_code=0.7,
        title_vehicle=0.9,
        requires='N',
        features=('Venta por unidad.', 'Caudal calibrado en banco.'),
    ),
    _type(
        'Inyección',
        'Sensor MAP',
        _ONE,
        (38000, 95000),
        'engine',
        (
            _brand('Bosch', 1.1, '0 261 230 ###'),
            _brand('Magneti Marelli', 1.0, 'SPM{###}'),
            _MTE,
        ),
        weight=0.6,
        title_code=0.6,
        title_vehicle=0.9,
        requires='N',
        features=('Sensor de presión absoluta del múltiple de admisión.',),
    ),
    _type(
        'Inyección',
        'Motor paso a paso (válvula IAC)',
        _ONE,
        (28000, 72000),
        'engine',
        (
            _brand('Magneti Marelli', 1.0, '40{43|44|45}####'),
            _MTE,
            _brand('Bosch', 1.1, 'F 000 99M ###'),
        ),
        weight=0.6,
        title_code=0.6,
        title_vehicle=0.9,
        requires='N',
        features=('Controla el ralentí del motor.', 'Limpiar el cuerpo mariposa al reemplazar.'),
    ),
    _type(
        'Inyección',
        'Cuerpo mariposa',
        _ONE,
        (190000, 430000),
        'engine',
        (
            _brand('Bosch', 1.1, '0 280 750 ###'),
            _brand('Magneti Marelli', 1.0, '{36|40|44}SXF#{|A|B}'),
        ),
        weight=0.4,
        title_code=0.5,
        title_vehicle=0.95,
        requires='N',
        features=('Mariposa motorizada (drive by wire).', 'Requiere aprendizaje con escáner tras la instalación.'),
    ),
    _type(
        'Inyección',
        'Sensor de posición de cigüeñal',
        _ONE,
        (32000, 85000),
        'engine',
        (
            _brand('Bosch', 1.1, '0 261 210 ###'),
            _MTE,
            _brand('Delphi', 1.0, 'SS10{###}-12B1'),
        ),
        weight=0.6,
        title_code=0.6,
        title_vehicle=0.9,
        features=('Sensor inductivo de rotación.',),
    ),
    # --- Motor ----------------------------------------------------------------------------------------------
    _type(
        'Motor',
        'Junta de tapa de cilindros',
        _ONE,
        (28000, 88000),
        'engine',
        (_TARANTO, _ELRING, _REINZ),
        weight=1.2,
        title_code=0.5,
        title_vehicle=0.95,
        same_engine=True,
        features=('Junta multicapa de acero (MLS).', 'Usar bulones de tapa nuevos.'),
    ),
    _type(
        'Motor',
        'Juego de juntas de motor',
        (('completo', 1.0), ('de descarbonización', 0.6)),
        (85000, 240000),
        'engine',
        (_TARANTO, _ELRING, _REINZ),
        weight=0.8,
        title_code=0.4,
        title_vehicle=0.95,
        same_engine=True,
        features=('Incluye retenes de válvula.', 'Juego completo para rectificación.'),
    ),
    _type(
        'Motor',
        'Junta de tapa de válvulas',
        _ONE,
        (11000, 32000),
        'engine',
        (_TARANTO, _ELRING, _REINZ),
        weight=0.8,
        title_code=0.5,
        title_vehicle=0.95,
        same_engine=True,
        features=('Goma de alta resistencia al aceite caliente.',),
    ),
    _type(
        'Motor',
        'Soporte de motor',
        (('delantero', 1.0), ('trasero', 0.9), ('lado distribución', 1.1), ('lado caja', 1.0)),
        (32000, 105000),
        'vehicle',
        (
            _brand('Sampel', 0.9, '{1|2|3|4}###'),
            _brand('Vibrachoc', 0.9, 'VB-{####}'),
            _LEMFORDER,
            _CORVEN,
        ),
        weight=1.2,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Caucho-metal vulcanizado.', 'Reduce vibraciones en ralentí.'),
    ),
    _type(
        'Motor',
        'Bomba de aceite',
        _ONE,
        (65000, 175000),
        'engine',
        (
            _brand('Mahle', 1.1, 'OP {###}'),
            _brand('Melling', 1.0, 'M-{###|####}'),
        ),
        weight=0.5,
        title_code=0.5,
        title_vehicle=0.95,
        same_engine=True,
        features=('Cebar antes de instalar.',),
    ),
    _type(
        'Motor',
        'Juego de pistones',
        (('estándar', 1.0), ('sobremedida 0,50 mm', 1.05), ('sobremedida 1,00 mm', 1.05)),
        (170000, 400000),
        'engine',
        (
            _brand('Mahle', 1.1, 'P {#####}'),
            _brand('KS Kolbenschmidt', 1.05, '{97|99|40}### ###'),
        ),
        weight=0.4,
        title_code=0.3,
        title_vehicle=0.95,
        same_engine=True,
        features=('Juego x4 con pernos y seguros.', 'Aleación de aluminio-silicio.'),
    ),
    _type(
        'Motor',
        'Juego de aros',
        (('estándar', 1.0), ('sobremedida 0,50 mm', 1.05)),
        (55000, 140000),
        'engine',
        (
            _brand('Mahle', 1.1, 'AR {#####}'),
            _brand('KS Kolbenschmidt', 1.05, '800{######}'),
            _brand('Hastings', 1.0, '2M{####}'),
        ),
        weight=0.5,
        title_code=0.3,
        title_vehicle=0.95,
        same_engine=True,
        features=('Juego para 4 cilindros.',),
    ),
    _type(
        'Motor',
        'Retén de cigüeñal',
        (('delantero', 1.0), ('trasero', 1.4)),
        (7500, 24000),
        'engine',
        (
            _brand('Sabó', 0.9, '0####BRG{|P}'),
            _brand('Corteco', 1.05, '{12|19|20}######B'),
            _ELRING,
        ),
        weight=1.0,
        title_code=0.5,
        title_vehicle=0.9,
        features=('Labio de viton.',),
    ),
    # --- Distribución ---------------------------------------------------------------------------------------
    _type(
        'Distribución',
        'Kit de distribución',
        (('', 1.0), ('con bomba de agua', 1.9)),
        (85000, 250000),
        'engine',
        (
            _brand('Gates', 1.1, '{K01|K02|K03|KP1}5###XS'),
            _brand('Dayco', 1.0, 'KTB{###|####}'),
            _brand('SKF', 1.1, 'VKMA 0####'),
            _brand('Contitech', 1.05, 'CT####K{1|2}'),
            _brand('INA', 1.05, '530 0### 10'),
        ),
        weight=2.0,
        title_code=0.3,
        title_vehicle=0.95,
        requires='belt',
        same_engine=True,
        features=(
            'Incluye correa dentada, rodillo tensor y rodillo guía.',
            'Reemplazar cada 50.000 a 60.000 km.',
            'Instalar con el motor en punto, según el manual de taller.',
        ),
    ),
    _type(
        'Distribución',
        'Correa de distribución',
        _ONE,
        (22000, 68000),
        'engine',
        (
            _brand('Gates', 1.1, '5###XS'),
            _brand('Dayco', 1.0, '94{###}'),
            _brand('Contitech', 1.05, 'CT{####}'),
        ),
        weight=1.5,
        title_code=0.7,
        title_vehicle=0.9,
        requires='belt',
        same_engine=True,
        features=('Caucho HNBR de alta resistencia térmica.', 'Se recomienda cambiar junto con el tensor.'),
    ),
    _type(
        'Distribución',
        'Rodillo tensor de distribución',
        _ONE,
        (28000, 88000),
        'engine',
        (
            _brand('SKF', 1.1, 'VKM 1####'),
            _brand('INA', 1.05, '531 0### 10'),
            _brand('Gates', 1.1, 'T4####'),
            _brand('Dayco', 1.0, 'ATB2###'),
        ),
        weight=1.2,
        title_code=0.6,
        title_vehicle=0.9,
        requires='belt',
        same_engine=True,
        features=('Rulemán sellado de larga duración.',),
    ),
    _type(
        'Distribución',
        'Correa poly-V',
        _ONE,
        (14000, 38000),
        'engine',
        (
            _brand('Gates', 1.1, '{4|5|6}PK{8#|9#|1##}{0|5}', ('Micro-V', 1.1, '{4|5|6}PK{8#|9#|1##}{0|5}')),
            _brand('Dayco', 1.0, '{4|5|6}PK{8#|9#|1##}{0|5}'),
            _brand('Contitech', 1.05, '{4|5|6}PK{8#|9#|1##}{0|5}'),
        ),
        weight=1.2,
        title_code=1.0,
        title_vehicle=0.6,
        features=(
            'Correa de accesorios (alternador, dirección, aire acondicionado).',
            'Verificar el tensor al reemplazar.',
        ),
    ),
    _type(
        'Distribución',
        'Tensor de correa poly-V',
        _ONE,
        (45000, 120000),
        'engine',
        (
            _brand('SKF', 1.1, 'VKM 3####'),
            _brand('INA', 1.05, '534 0### 10'),
            _brand('Gates', 1.1, 'T3####'),
            _brand('Dayco', 1.0, 'APV{####}'),
        ),
        weight=0.6,
        title_code=0.6,
        title_vehicle=0.9,
        features=('Tensor automático con amortiguación.',),
    ),
    _type(
        'Distribución',
        'Kit de cadena de distribución',
        _ONE,
        (160000, 420000),
        'engine',
        (
            _brand('febi bilstein', 1.05, '{#####|######}'),
            _brand('INA', 1.05, '559 0### 10'),
            _brand('SKF', 1.1, 'VKML 8####'),
        ),
        weight=0.6,
        title_code=0.3,
        title_vehicle=0.95,
        requires='chain',
        same_engine=True,
        features=('Incluye cadena, guías, tensor y engranajes.', 'Reemplazar ante ruido de cadena en el arranque.'),
    ),
    # --- Refrigeración --------------------------------------------------------------------------------------
    _type(
        'Refrigeración',
        'Bomba de agua',
        _ONE,
        (42000, 135000),
        'engine',
        (
            _brand('SKF', 1.1, 'VKPC 8####'),
            _brand('Dolz', 1.0, '{A|B|C|F|P|R|S|T|V}{###}'),
            _brand('Saleri SIL', 1.0, 'PA {###|####}{|P}'),
            _brand('Gates', 1.1, 'WP0{###}'),
        ),
        weight=1.8,
        title_code=0.5,
        title_vehicle=0.9,
        same_engine=True,
        features=('Incluye junta.', 'Se recomienda cambiar junto con el kit de distribución.'),
    ),
    _type(
        'Refrigeración',
        'Radiador',
        (('', 1.0), ('con aire acondicionado', 1.15)),
        (170000, 430000),
        'vehicle',
        (
            _brand('Valeo', 1.1, '7#####'),
            _brand('Mahle', 1.1, 'CR {###|####} 000{S|P}'),
            _brand('Nissens', 1.05, '6####'),
            _brand('Denso', 1.1, 'DRM{09|20|23|41|50}###'),
        ),
        weight=1.0,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Panal de aluminio con tanques plásticos.', 'Usar refrigerante orgánico nuevo.'),
    ),
    _type(
        'Refrigeración',
        'Termostato',
        _ONE,
        (18000, 52000),
        'engine',
        (
            _brand('Wahler', 1.05, '4###.{87|88|89|92}D'),
            _brand('Mahle', 1.1, 'TX {##|###} {87|88|89|92}D'),
            _brand('Gates', 1.1, 'TH{#####}G1'),
            _brand('Valeo', 1.1, '820{###}'),
        ),
        weight=1.0,
        title_code=0.6,
        title_vehicle=0.9,
        features=('Con junta.', 'Temperatura de apertura original.'),
    ),
    _type(
        'Refrigeración',
        'Electroventilador',
        (('', 1.0), ('con aire acondicionado', 1.2)),
        (110000, 290000),
        'vehicle',
        (
            _brand('Valeo', 1.1, '696{###}'),
            _brand('Bosch', 1.1, '0 130 30# ###'),
            _brand('Magneti Marelli', 1.0, '069422{###}010'),
        ),
        weight=0.7,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Motor con carcasa y paletas.',),
    ),
    _type(
        'Refrigeración',
        'Manguera de radiador',
        (('superior', 1.0), ('inferior', 1.0)),
        (11000, 34000),
        'vehicle',
        (
            _brand('Gates', 1.1, '05-{####|#####}'),
            _brand('Dayco', 1.0, '88{###}'),
        ),
        weight=1.0,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Caucho EPDM reforzado.',),
    ),
    _type(
        'Refrigeración',
        'Depósito de agua (vaso recuperador)',
        _ONE,
        (17000, 45000),
        'chassis',
        (
            _brand('Mahle', 1.1, 'CRT {###} 000S'),
            _brand('Nissens', 1.05, '996{###}'),
            _FITAM,
        ),
        weight=0.6,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Incluye tapa.',),
    ),
    _type(
        'Refrigeración',
        'Líquido refrigerante',
        (('concentrado 1 L', 1.0), ('listo para usar 1 L', 0.7), ('listo para usar 5 L', 3.0)),
        (6000, 13000),
        'universal',
        (
            _brand('Prestone', 1.1, 'AF{2|3|4}{###}'),
            _brand('YPF', 1.0, ('Refrigerante Orgánico', 1.0, 'YR{####}')),
            _brand('Shell', 1.05, ('Coolant Longlife', 1.0, '5500{4|5}####')),
            _brand('Valvoline', 1.0, ('Zerex', 1.1, 'VZ{####}')),
        ),
        weight=0.5,
        title_code=0.0,
        variant_last=True,
        features=('Base etilenglicol con inhibidores orgánicos.', 'No mezclar con refrigerantes inorgánicos.'),
    ),
    # --- Embrague y transmisión -----------------------------------------------------------------------------
    _type(
        'Embrague y transmisión',
        'Kit de embrague',
        (('', 1.0), ('(placa, disco y crapodina)', 1.1)),
        (320000, 600000),
        'engine',
        (
            _brand('LuK', 1.1, ('RepSet', 1.0, '6{19|20|21|22|23|24} #### 00')),
            _brand('Sachs', 1.1, '3000 9{51|54|70} ###'),
            _brand('Valeo', 1.05, ('Kit 3P', 1.0, '8{26|28|32|34} ###')),
            _brand('Exedy', 1.0, '{VWK|FMK|FTK|RNK|PGK|GMK}-{####}'),
        ),
        weight=1.4,
        title_code=0.3,
        title_vehicle=0.95,
        same_engine=True,
        features=(
            'Incluye placa de presión y disco.',
            'Verificar el volante motor al reemplazar.',
            'Revisar la crapodina y el cable o bombín.',
        ),
    ),
    _type(
        'Embrague y transmisión',
        'Crapodina',
        _ONE,
        (32000, 88000),
        'engine',
        (
            _brand('SKF', 1.1, 'VKC {####}'),
            _brand('LuK', 1.1, '500 0### 10'),
            _brand('Sachs', 1.1, '3151 {###} ###'),
        ),
        weight=1.0,
        title_code=0.5,
        title_vehicle=0.9,
        same_engine=True,
        features=('Rulemán de empuje sellado.',),
    ),
    _type(
        'Embrague y transmisión',
        'Cable de embrague',
        _ONE,
        (16000, 44000),
        'chassis',
        (
            _brand('Cofle', 1.0, '{10|11|12}.{####}'),
            _brand('Ferrazzi', 0.85, 'CE-{####}'),
        ),
        weight=0.7,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Con regulación automática según versión.',),
    ),
    _type(
        'Embrague y transmisión',
        'Junta homocinética',
        (('lado rueda', 1.0), ('lado caja', 1.1)),
        (75000, 195000),
        'chassis',
        (
            _brand('SKF', 1.1, 'VKJA {####}'),
            _brand('GKN', 1.1, '{20|21|22|25|30}{###}'),
            _CORVEN,
        ),
        weight=1.2,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Incluye fuelle, abrazaderas y grasa.', 'Verificar número de estrías antes de instalar.'),
    ),
    _type(
        'Embrague y transmisión',
        'Fuelle de homocinética',
        (('lado rueda', 1.0), ('lado caja', 1.0)),
        (9000, 24000),
        'chassis',
        (_brand('SKF', 1.1, 'VKJP {####}'), _CORVEN, _SADAR),
        weight=0.7,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Kit con abrazaderas y grasa.',),
    ),
    # --- Electricidad ---------------------------------------------------------------------------------------
    _type(
        'Electricidad',
        'Batería',
        _BATTERIES,
        (130000, 190000),
        'optional',
        (
            _brand(
                'Moura',
                1.05,
                '$',
                variant_codes={
                    '12V 45 Ah': 'M45{FD|FE}',
                    '12V 55 Ah': 'M50{GD|GE}',
                    '12V 65 Ah': 'M60{GD|GE}',
                    '12V 75 Ah': 'M70{KD|KE}',
                    '12V 90 Ah': 'M90{TD|TE}',
                    '12V 110 Ah': 'M100{HE|HD}',
                },
            ),
            _brand(
                'Willard',
                1.0,
                '$',
                variant_codes={
                    '12V 45 Ah': 'UB{420|450}',
                    '12V 55 Ah': 'UB{550|620}',
                    '12V 65 Ah': 'UB{670|710}',
                    '12V 75 Ah': 'UB{740|800}',
                    '12V 90 Ah': 'UB{900|920}',
                    '12V 110 Ah': 'UB{1100|1130}',
                },
            ),
            _brand(
                'Prestolite',
                0.95,
                '$',
                variant_codes={
                    '12V 45 Ah': 'PF45{D|I}',
                    '12V 55 Ah': 'PF55{D|I}',
                    '12V 65 Ah': 'PF65{D|I}',
                    '12V 75 Ah': 'PF75{D|I}',
                    '12V 90 Ah': 'PF90{D|I}',
                    '12V 110 Ah': 'PF110{D|I}',
                },
            ),
            _brand(
                'Bosch',
                1.1,
                '$',
                variant_codes={
                    '12V 45 Ah': 'S4 45{D|I}',
                    '12V 55 Ah': 'S4 55{D|I}',
                    '12V 65 Ah': 'S4 65{D|I}',
                    '12V 75 Ah': 'S5 75{D|I}',
                    '12V 90 Ah': 'S5 90{D|I}',
                    '12V 110 Ah': 'S5 110{D|I}',
                },
            ),
        ),
        weight=1.0,
        title_code=0.8,
        title_vehicle=0.5,
        features=('Libre de mantenimiento.', 'Se entrega cargada.', 'Verificar la polaridad (borne positivo D o I).'),
    ),
    _type(
        'Electricidad',
        'Alternador',
        _ONE,
        (330000, 720000),
        'vehicle',
        (
            _brand('Bosch', 1.1, '0 124 {325|425|525|415} ###'),
            _brand('Valeo', 1.05, '{TG|A}1{2|4}C{###}'),
            _brand('Magneti Marelli', 1.0, '063 731 {###}{|010}'),
        ),
        weight=0.6,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Con regulador incorporado.', 'Nuevo, no reparado.'),
    ),
    _type(
        'Electricidad',
        'Motor de arranque',
        _ONE,
        (290000, 640000),
        'vehicle',
        (
            _brand('Bosch', 1.1, '0 001 {107|108|138|139|115} ###'),
            _brand('Valeo', 1.05, 'D{6|7}{E|G|R}{###}'),
            _brand('Magneti Marelli', 1.0, '063 721 {###}{|010}'),
            _brand('Prestolite', 0.95, 'MA-{#####}'),
        ),
        weight=0.6,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Nuevo, no reparado.', 'Incluye automático.'),
    ),
    _type(
        'Electricidad',
        'Regulador de voltaje',
        _ONE,
        (24000, 58000),
        'engine',
        (
            _brand('Bosch', 1.1, 'F 00M 144 ###'),
            _brand('Valeo', 1.05, '59{####}'),
        ),
        weight=0.5,
        title_code=0.6,
        title_vehicle=0.8,
        features=('Para alternador original.',),
    ),
    _type(
        'Electricidad',
        'Sensor de temperatura de agua',
        _ONE,
        (10000, 32000),
        'engine',
        (
            _brand('FAE', 1.0, '33{###}'),
            _brand('Bosch', 1.1, '0 280 130 ###'),
            _MTE,
            _brand('Hella', 1.05, '6PT 009 {###}-###'),
        ),
        weight=0.7,
        title_code=0.6,
        title_vehicle=0.9,
        features=('Ficha original.',),
    ),
    _type(
        'Electricidad',
        'Bulbo de presión de aceite',
        _ONE,
        (7500, 18000),
        'engine',
        (
            _brand('FAE', 1.0, '12{###}'),
            _brand('Bosch', 1.1, '0 986 345 ###'),
            _brand('Hella', 1.05, '6ZL 003 259-{###}'),
        ),
        weight=0.5,
        title_code=0.6,
        title_vehicle=0.8,
        features=('Enciende el testigo de presión de aceite.',),
    ),
    _type(
        'Electricidad',
        'Sensor ABS',
        (('delantero', 1.0), ('trasero', 1.0)),
        (38000, 95000),
        'chassis',
        (
            _brand('Bosch', 1.1, '0 265 007 ###'),
            _brand('ATE', 1.1, '24.0711-{####}.3'),
            _brand('Delphi', 1.0, 'SS20{###}-12B1'),
            _brand('Hella', 1.05, '6PU 012 039-{###}'),
        ),
        weight=0.6,
        title_code=0.5,
        title_vehicle=0.95,
        features=('Sensor de velocidad de rueda.',),
    ),
    _type(
        'Electricidad',
        'Interruptor de luz de freno',
        _ONE,
        (6000, 16000),
        'chassis',
        (
            _brand('FAE', 1.0, '24{###}'),
            _brand('Hella', 1.05, '6DD 008 622-{###}'),
        ),
        weight=0.4,
        title_code=0.5,
        title_vehicle=0.9,
        features=('Se instala en el pedal de freno.',),
    ),
    # --- Iluminación ----------------------------------------------------------------------------------------
    _type(
        'Iluminación',
        'Lámpara',
        _BULBS,
        (8000, 11000),
        'universal',
        (
            _brand(
                'Philips',
                1.05,
                ('Vision', 1.0, '$PRC1'),
                ('X-tremeVision Pro150', 2.6, '$XVPS2'),
                ('WhiteVision Ultra', 2.2, '$WVUB1'),
                ('Standard', 0.8, '$B1'),
                variant_codes=_PHILIPS_BULBS,
            ),
            _brand(
                'Osram',
                1.05,
                ('Original Line', 0.9, '$'),
                ('Night Breaker Laser', 2.7, '$NL'),
                ('Cool Blue Intense', 2.2, '$CBN'),
                ('Ultra Life', 1.4, '$ULT'),
                variant_codes=_OSRAM_BULBS,
            ),
            _brand('Hella', 1.0, '8GH 00# ###-1#1'),
            _brand('Narva', 0.9, '{48|17}###'),
        ),
        weight=1.4,
        title_code=0.0,
        features=('Homologada ECE.', 'No tocar el vidrio con los dedos al instalar.', 'Venta por unidad.'),
    ),
    _type(
        'Iluminación',
        'Óptica delantera',
        _LEFT_RIGHT_F,
        (110000, 360000),
        'chassis',
        (
            _FITAM,
            _brand('Depo', 0.85, '{441|442|551|552|661|662}-11{##}{L|R}-{LD|RD}-EM'),
            _brand('Hella', 1.15, '1LG {###} {###}-{###}'),
            _brand('Carello', 0.95, 'CA-{#####}'),
        ),
        weight=1.2,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Con regulación eléctrica según versión.', 'No incluye lámparas.'),
    ),
    _type(
        'Iluminación',
        'Faro trasero',
        _LEFT_RIGHT_M,
        (55000, 170000),
        'chassis',
        (
            _FITAM,
            _brand('Depo', 0.85, '{441|442|551|552}-19{##}{L|R}-{UE|LD}'),
            _brand('Baiml', 0.9, 'BA-{####}'),
        ),
        weight=0.8,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Con portalámparas.', 'No incluye lámparas.'),
    ),
    _type(
        'Iluminación',
        'Faro antiniebla',
        _LEFT_RIGHT_M,
        (42000, 115000),
        'chassis',
        (
            _brand('Hella', 1.15, '1N0 {###} {###}-{###}'),
            _brand('Depo', 0.85, '{441|551|661}-20{##}{L|R}-UE'),
            _FITAM,
        ),
        weight=0.5,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Lámpara H11 o H3 según versión.',),
    ),
    # --- Carrocería -----------------------------------------------------------------------------------------
    _type(
        'Carrocería',
        'Espejo retrovisor exterior',
        (('izquierdo manual', 1.0), ('derecho manual', 1.0), ('izquierdo eléctrico', 1.6), ('derecho eléctrico', 1.6)),
        (48000, 140000),
        'chassis',
        (_brand('Metagal', 1.0, '{1|2|3|4}####'), _FITAM),
        weight=1.0,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Carcasa negra para pintar.', 'Con vidrio.'),
    ),
    _type(
        'Carrocería',
        'Escobillas limpiaparabrisas',
        (
            ('22" + 18" (par)', 1.0),
            ('24" + 16" (par)', 1.0),
            ('21" + 19" (par)', 1.0),
            ('26" + 16" (par)', 1.1),
            ('20" + 20" (par)', 0.95),
            ('trasera 14"', 0.45),
        ),
        (16000, 42000),
        'optional',
        (
            _brand('Bosch', 1.1, ('Aerotwin', 1.4, '3 397 {007|118|014} ###'), ('Eco', 0.8, '3 397 {005|004} ###')),
            _brand('Valeo', 1.05, ('Silencio', 1.0, 'VM {###}'), ('First', 0.8, 'VF {###}')),
            _brand('Champion', 0.9, ('Aerovantage', 1.0, 'AF{4|5|6}#{|/B01}')),
            _brand('Hella', 1.0, ('Flat', 1.0, '9XW {###} {###}-{###}')),
        ),
        weight=1.3,
        title_code=0.3,
        title_vehicle=0.5,
        features=('Goma de caucho natural con grafito.', 'Cambiar cada 6 a 12 meses.'),
    ),
    _type(
        'Carrocería',
        'Levantavidrios eléctrico',
        (('delantero izquierdo', 1.0), ('delantero derecho', 1.0)),
        (55000, 150000),
        'chassis',
        (
            _brand('Valeo', 1.05, '850{###}'),
            _brand('Bosch', 1.1, '0 130 822 ###'),
            _FITAM,
        ),
        weight=0.7,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Con motor.', 'Conector original.'),
    ),
    _type(
        'Carrocería',
        'Manija exterior de puerta',
        (
            ('delantera izquierda', 1.0),
            ('delantera derecha', 1.0),
            ('trasera izquierda', 1.0),
            ('trasera derecha', 1.0),
        ),
        (9000, 28000),
        'chassis',
        (_FITAM, _brand('Metagal', 1.0, '{1|2|3|4}####')),
        weight=0.6,
        title_code=0.2,
        title_vehicle=0.95,
        features=('Negra texturada.', 'Para pintar según versión.'),
    ),
    _type(
        'Carrocería',
        'Amortiguador de portón trasero',
        _ONE,
        (14000, 38000),
        'chassis',
        (
            _brand('Stabilus', 1.1, ('Lift-O-Mat', 1.0, '{0|1|2|3|5|6|7|8|9}###{@@}')),
            _CORVEN,
        ),
        weight=0.5,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Venta por unidad.',),
    ),
    # --- Lubricantes ----------------------------------------------------------------------------------------
    _type(
        'Lubricantes',
        'Aceite de motor',
        _OIL_SIZES,
        (10000, 13000),
        'universal',
        (
            _brand(
                'Castrol',
                1.05,
                ('Magnatec 10W-40 semisintético', 1.0, '15{A|B|C|D}{###}'),
                ('Magnatec 5W-30 sintético', 1.5, '15{A|B|C|D}{###}'),
                ('Edge 5W-30 sintético', 1.8, '15{E|F}{###}'),
                ('Edge 0W-20 sintético', 1.9, '15{E|F}{###}'),
                ('GTX 15W-40 mineral', 0.75, '15{G|H}{###}'),
                ('GTX 20W-50 mineral', 0.75, '15{G|H}{###}'),
                ('Vecton 15W-40 diésel', 0.85, '15{V|W}{###}'),
            ),
            _brand(
                'YPF',
                1.0,
                ('Elaion F50 5W-40 sintético', 1.55, '{1|2}#####'),
                ('Elaion F50 E 0W-20 sintético', 1.7, '{1|2}#####'),
                ('Elaion F30 10W-40 semisintético', 1.0, '{1|2}#####'),
                ('Elaion F10 15W-40 mineral', 0.75, '{1|2}#####'),
                ('Extravida XV 300 15W-40 diésel', 0.85, '{1|2}#####'),
            ),
            _brand(
                'Shell',
                1.0,
                ('Helix HX5 15W-40 mineral', 0.75, '5500{4|5}####'),
                ('Helix HX7 10W-40 semisintético', 1.0, '5500{4|5}####'),
                ('Helix HX8 5W-30 sintético', 1.55, '5500{4|5}####'),
                ('Helix Ultra 5W-40 sintético', 1.75, '5500{4|5}####'),
                ('Rimula R4 15W-40 diésel', 0.85, '5500{4|5}####'),
            ),
            _brand(
                'Total',
                0.98,
                ('Quartz 9000 5W-40 sintético', 1.55, '{21|18|23}####'),
                ('Quartz 7000 10W-40 semisintético', 1.0, '{21|18|23}####'),
                ('Quartz 5000 15W-40 mineral', 0.75, '{21|18|23}####'),
                ('Quartz Ineo ECS 5W-30 sintético', 1.75, '{21|18|23}####'),
            ),
            _brand(
                'Mobil',
                1.02,
                ('Super 2000 10W-40 semisintético', 1.0, '{14|15}####'),
                ('Super 1000 15W-40 mineral', 0.75, '{14|15}####'),
                ('Mobil 1 ESP 5W-30 sintético', 2.0, '{14|15}####'),
                ('Super 3000 5W-40 sintético', 1.55, '{14|15}####'),
            ),
            _brand(
                'Motul',
                1.15,
                ('8100 X-clean 5W-40 sintético', 1.9, '10{2|4|9}###'),
                ('6100 Syn-nergy 5W-40 semisintético', 1.25, '10{2|4|9}###'),
                ('4100 Turbolight 10W-40 semisintético', 1.1, '10{2|4|9}###'),
            ),
        ),
        weight=0.9,
        title_code=0.0,
        variant_last=True,
        features=(
            'Respetar la viscosidad y la norma indicadas en el manual del vehículo.',
            'Cambiar junto con el filtro de aceite.',
        ),
    ),
    _type(
        'Lubricantes',
        'Aceite para caja manual',
        (('1 L', 1.0),),
        (14000, 28000),
        'universal',
        (
            _brand('Castrol', 1.05, ('Transmax Manual 75W-90', 1.0, '15{M|N}{###}')),
            _brand(
                'Shell', 1.0, ('Spirax S3 G 80W', 0.9, '5500{4|5}####'), ('Spirax S4 G 75W-90', 1.2, '5500{4|5}####')
            ),
            _brand('YPF', 1.0, ('Transmisión Multigrado 80W-90', 0.95, '{1|2}#####')),
            _brand('Total', 0.98, ('Transmission Gear 8 75W-80', 1.1, '{21|18|23}####')),
            _brand('Motul', 1.15, ('Gear 300 75W-90', 1.6, '10{2|4|9}###')),
        ),
        weight=0.15,
        title_code=0.0,
        variant_last=True,
        features=('Aceite para engranajes de cajas manuales.',),
    ),
    _type(
        'Lubricantes',
        'Aceite para transmisión automática',
        (('1 L', 1.0),),
        (13000, 25000),
        'universal',
        (
            _brand(
                'Castrol',
                1.05,
                ('Transmax Dexron VI', 1.2, '15{T|U}{###}'),
                ('Transmax ATF Dexron III', 1.0, '15{T|U}{###}'),
            ),
            _brand('Shell', 1.0, ('Spirax S2 ATF D2', 1.0, '5500{4|5}####')),
            _brand('YPF', 1.0, ('ATF Dexron III', 0.95, '{1|2}#####')),
            _brand('Total', 0.98, ('Fluidmatic D3', 1.0, '{21|18|23}####')),
            _brand('Mobil', 1.02, ('ATF 220', 1.0, '{14|15}####')),
        ),
        weight=0.15,
        title_code=0.0,
        variant_last=True,
        features=('Apto también para dirección hidráulica.',),
    ),
    _type(
        'Lubricantes',
        'Grasa multipropósito',
        (('500 g', 1.0), ('1 kg', 1.8)),
        (6000, 11000),
        'universal',
        (
            _brand('YPF', 1.0, ('Grasa LI EP 2', 1.0, '{1|2}#####')),
            _brand('Shell', 1.0, ('Gadus S2 V220 2', 1.0, '5500{4|5}####')),
            _brand('Castrol', 1.05, ('LMX', 1.2, '15{L|K}{###}')),
            _brand('Total', 0.98, ('Multis EP 2', 1.0, '{21|18|23}####')),
        ),
        weight=0.1,
        title_code=0.0,
        variant_last=True,
        features=('Base litio, para rulemanes y articulaciones.',),
    ),
    # --- Escape ---------------------------------------------------------------------------------------------
    _type(
        'Escape',
        'Silenciador',
        (('trasero', 1.0), ('intermedio', 0.85)),
        (42000, 135000),
        'vehicle',
        (
            _brand('Mastra', 0.95, '{M|S}-{####}'),
            _brand('Walker', 1.15, '{1|2}####'),
            _brand('Bosal', 1.05, '{1|2}##-{###}'),
        ),
        weight=1.0,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Acero aluminizado.', 'Incluye abrazaderas.'),
    ),
    _type(
        'Escape',
        'Caño de escape',
        (('delantero', 1.0), ('intermedio', 0.9)),
        (32000, 88000),
        'vehicle',
        (
            _brand('Mastra', 0.95, 'C-{####}'),
            _brand('Walker', 1.15, '{1|2}####'),
            _brand('Bosal', 1.05, '{7|8}##-{###}'),
        ),
        weight=0.5,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Acero aluminizado.',),
    ),
    _type(
        'Escape',
        'Catalizador',
        _ONE,
        (240000, 580000),
        'vehicle',
        (
            _brand('Walker', 1.15, '2{####}'),
            _brand('Bosal', 1.05, '099-{###}'),
            _brand('Mastra', 0.95, 'CAT-{###}'),
        ),
        weight=0.4,
        title_code=0.3,
        title_vehicle=0.95,
        requires='N',
        features=('Cumple norma de emisiones Euro según versión.', 'Verificar la sonda lambda al reemplazar.'),
    ),
    _type(
        'Escape',
        'Junta de múltiple de escape',
        _ONE,
        (4500, 14000),
        'engine',
        (_TARANTO, _ELRING, _REINZ),
        weight=0.5,
        title_code=0.5,
        title_vehicle=0.9,
        same_engine=True,
        features=('Junta metaloplástica.',),
    ),
    _type(
        'Escape',
        'Soporte de goma de escape',
        _ONE,
        (2800, 8500),
        'chassis',
        (_SADAR, _CORVEN),
        weight=0.3,
        title_code=0.3,
        title_vehicle=0.9,
        features=('Venta por unidad.',),
    ),
    # --- Dirección ------------------------------------------------------------------------------------------
    _type(
        'Dirección',
        'Extremo de dirección',
        _LEFT_RIGHT_M,
        (16000, 44000),
        'chassis',
        (
            _brand('TRW', 1.05, 'JTE{###|####}'),
            _FRICROT,
            _SADAR,
            _LEMFORDER,
        ),
        weight=1.5,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Incluye tuerca autofrenante.', 'Alinear el tren delantero después de instalar.'),
    ),
    _type(
        'Dirección',
        'Axial de dirección',
        _ONE,
        (16000, 42000),
        'chassis',
        (
            _brand('TRW', 1.05, 'JAR{###|####}'),
            _FRICROT,
            _SADAR,
            _LEMFORDER,
        ),
        weight=1.0,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Venta por unidad.', 'Alinear el tren delantero después de instalar.'),
    ),
    _type(
        'Dirección',
        'Cremallera de dirección',
        (('hidráulica', 1.0), ('mecánica', 0.65)),
        (420000, 880000),
        'chassis',
        (_brand('TRW', 1.05, 'JRP{###}'), _brand('ZF', 1.1, '{76|77|78}## ### ###')),
        weight=0.4,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Nueva, no reparada.', 'Sin extremos.'),
    ),
    _type(
        'Dirección',
        'Bomba de dirección hidráulica',
        _ONE,
        (240000, 520000),
        'vehicle',
        (
            _brand('TRW', 1.05, 'JPR{###}'),
            _brand('ZF', 1.1, '{76|77|78}## ### ###'),
            _brand('Bosch', 1.1, 'K S01 000 ###'),
        ),
        weight=0.4,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Con polea según versión.',),
    ),
    _type(
        'Dirección',
        'Fuelle de cremallera',
        _ONE,
        (7000, 19000),
        'chassis',
        (
            _CORVEN,
            _SADAR,
            _FRICROT,
            _brand('TRW', 1.05, 'JBE{###}'),
        ),
        weight=0.6,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Con abrazaderas.',),
    ),
    # --- Climatización --------------------------------------------------------------------------------------
    _type(
        'Climatización',
        'Compresor de aire acondicionado',
        _ONE,
        (520000, 1150000),
        'vehicle',
        (
            _brand('Valeo', 1.05, '8130{##}'),
            _brand('Denso', 1.1, 'DCP{09|17|23|32}0{##}'),
            _brand('Delphi', 1.0, 'CS20{###}'),
            _brand('Sanden', 1.05, '{SD7V16|SD7H15|SD6V12|PXE16} {1|12|13}##'),
        ),
        weight=0.5,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Incluye aceite PAG de fábrica.', 'Reemplazar el filtro deshidratador al instalar.'),
    ),
    _type(
        'Climatización',
        'Condensador de aire acondicionado',
        _ONE,
        (140000, 340000),
        'chassis',
        (
            _brand('Valeo', 1.05, '8144{##}'),
            _brand('Nissens', 1.05, '94{###}'),
            _brand('Denso', 1.1, 'DCN{09|17|23|32}0{##}'),
        ),
        weight=0.5,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Con filtro deshidratador incorporado según versión.',),
    ),
    _type(
        'Climatización',
        'Filtro deshidratador',
        _ONE,
        (24000, 58000),
        'chassis',
        (
            _brand('Valeo', 1.05, '509{###}'),
            _brand('Mahle', 1.1, 'AD {###} 000S'),
            _brand('Nissens', 1.05, '95{###}'),
        ),
        weight=0.4,
        title_code=0.4,
        title_vehicle=0.9,
        features=('Reemplazar cada vez que se abre el circuito.',),
    ),
    _type(
        'Climatización',
        'Motor forzador de calefacción',
        _ONE,
        (78000, 175000),
        'chassis',
        (
            _brand('Bosch', 1.1, '0 130 111 ###'),
            _brand('Valeo', 1.05, '698{###}'),
        ),
        weight=0.4,
        title_code=0.3,
        title_vehicle=0.95,
        features=('Con turbina.',),
    ),
    _type(
        'Climatización',
        'Resistencia de forzador',
        _ONE,
        (18000, 48000),
        'chassis',
        (
            _brand('Valeo', 1.05, '515{###}'),
            _brand('Hella', 1.05, '9ML 351 332-{###}'),
        ),
        weight=0.3,
        title_code=0.4,
        title_vehicle=0.95,
        features=('Regula las velocidades del forzador.',),
    ),
)

_CATEGORY_PREFIX = {
    'Frenos': 'FRE',
    'Filtros': 'FIL',
    'Suspensión': 'SUS',
    'Encendido': 'ENC',
    'Inyección': 'INY',
    'Motor': 'MOT',
    'Distribución': 'DIS',
    'Refrigeración': 'REF',
    'Embrague y transmisión': 'EMB',
    'Electricidad': 'ELE',
    'Iluminación': 'ILU',
    'Carrocería': 'CAR',
    'Lubricantes': 'LUB',
    'Escape': 'ESC',
    'Dirección': 'DIR',
    'Climatización': 'CLI',
}
_WARRANTY_MONTHS = (3, 6, 6, 12)
_IMAGE_COUNTS = (1, 1, 1, 1, 2, 2, 2, 3, 3, 4)
_IMAGE_BASE = 'https://img.leadmaster.example/products'
_IVA = Decimal('21.00')
_IVA_FACTOR = Decimal('1.21')
_CENT = Decimal('0.01')
_FIT_COUNT_WEIGHTS = (0.3, 0.25, 0.2, 0.12, 0.08, 0.05)  # most parts fit 1-3 vehicles, few fit six
_MAX_ATTEMPTS = 30


def _cumulative(weights: Iterable[float]) -> tuple[float, ...]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return tuple(out)


# Body and running gear are shared by models of one platform, whatever the engine (a Gol Trend and a Voyage take
# the same brake pads; a Toro and a Palio share nothing). Models not listed are a platform of their own.
_PLATFORM_BY_MODEL = {
    'Gol': 'vw-pq24',
    'Gol Trend': 'vw-pq24',
    'Voyage': 'vw-pq24',
    'Saveiro': 'vw-pq24',
    'Fox': 'vw-pq24',
    'Suran': 'vw-pq24',
    'Polo': 'vw-mqb-a0',
    'Virtus': 'vw-mqb-a0',
    'T-Cross': 'vw-mqb-a0',
    'Golf': 'vw-a4',
    'Bora': 'vw-a4',
    'Vento': 'vw-a5',
    'Tiguan': 'vw-a5',
    'Taos': 'vw-a5',
    'Fiesta': 'ford-b3',
    'EcoSport': 'ford-b3',
    'Ka': 'ford-b3',
    'Courier': 'ford-b3',
    'Fiesta Kinetic': 'ford-b2e',
    'Corsa': 'gm-gamma',
    'Corsa Classic': 'gm-gamma',
    'Classic': 'gm-gamma',
    'Celta': 'gm-gamma',
    'Agile': 'gm-gamma',
    'Montana': 'gm-gamma',
    'Meriva': 'gm-gamma',
    'Prisma': 'gm-gamma2',
    'Onix': 'gm-gamma2',
    'Spin': 'gm-gamma2',
    'Onix Plus': 'gm-gem',
    'Cruze': 'gm-delta',
    'Tracker': 'gm-delta',
    'S10': 'gm-s10',
    'Trailblazer': 'gm-s10',
    'Palio': 'fiat-178',
    'Siena': 'fiat-178',
    'Strada': 'fiat-178',
    'Grand Siena': 'fiat-178',
    'Punto': 'fiat-punto',
    'Idea': 'fiat-punto',
    'Cronos': 'fiat-mp1',
    'Argo': 'fiat-mp1',
    'Pulse': 'fiat-mp1',
    'Mobi': 'fiat-novo-uno',
    'Clio': 'renault-clio',
    'Symbol': 'renault-clio',
    'Sandero': 'renault-b0',
    'Logan': 'renault-b0',
    'Stepway': 'renault-b0',
    'Duster': 'renault-b0',
    'Sandero RS': 'renault-b0',
    'Duster Oroch': 'renault-b0',
    'Megane': 'renault-megane',
    'Fluence': 'renault-megane',
    '206': 'psa-206',
    '207 Compact': 'psa-206',
    '208': 'psa-208',
    '2008': 'psa-208',
    'Partner': 'psa-partner',
    'Berlingo': 'psa-partner',
    '307': 'psa-pf2',
    'Xsara Picasso': 'psa-pf2',
    'C4': 'psa-pf2',
    '308': 'psa-pf2',
    '408': 'psa-pf2',
    'C4 Lounge': 'psa-pf2',
    'Hilux': 'toyota-imv',
    'SW4': 'toyota-imv',
    'March': 'nissan-v',
    'Versa': 'nissan-v',
    'Kicks': 'nissan-v',
    'Fit': 'honda-fit',
    'City': 'honda-fit',
    'HR-V': 'honda-fit',
}
# Where one model name spans different platforms, (model, first year) decides.
_PLATFORM_BY_MODEL_YEAR = {
    ('EcoSport', 2013): 'ford-b2e',
    ('EcoSport', 2018): 'ford-b2e',
    ('Ka', 2016): 'ford-b2e',
    ('Onix', 2020): 'gm-gem',
    ('Tracker', 2021): 'gm-gem',
    ('S10', 1996): 'gm-s10-old',
    ('Uno', 2011): 'fiat-novo-uno',
}


def _platform(member: _Member) -> str:
    return _PLATFORM_BY_MODEL_YEAR.get((member[1], member[2])) or _PLATFORM_BY_MODEL.get(member[1], member[1])


@dataclass(frozen=True, slots=True)
class _FamilyView:
    """The families (and their members) that a given `requires` allows, ready for weighted picking."""

    families: tuple[_Family, ...]
    members: tuple[tuple[_Member, ...], ...]
    cumulative: tuple[float, ...]
    by_engine: tuple[dict[str, tuple[_Member, ...]], ...]  # per family: engine -> members
    by_platform: tuple[dict[str, tuple[_Member, ...]], ...]  # per family: platform -> members
    platforms: dict[str, tuple[_Member, ...]]  # across families, for body and running-gear parts


def _group(members: Iterable[_Member], key: Callable[[_Member], str]) -> dict[str, tuple[_Member, ...]]:
    groups: dict[str, list[_Member]] = {}
    for member in members:
        groups.setdefault(key(member), []).append(member)
    return {k: tuple(v) for k, v in groups.items()}


def _family_view(requires: str) -> _FamilyView:
    accept = _REQUIREMENTS[requires]
    families, members = [], []
    for family in _FAMILIES:
        allowed = tuple(m for m in family.members if accept(m[5]))
        if allowed:
            families.append(family)
            members.append(allowed)
    return _FamilyView(
        tuple(families),
        tuple(members),
        # A family keeps its weight in proportion to the members the requirement leaves it.
        _cumulative(f.weight * len(m) / len(f.members) for f, m in zip(families, members, strict=True)),
        tuple(_group(m, lambda member: member[4]) for m in members),
        tuple(_group(m, _platform) for m in members),
        _group((member for m in members for member in m), _platform),
    )


_VIEWS = {key: _family_view(key) for key in _REQUIREMENTS}
_TYPE_CUMULATIVE = _cumulative(t.weight for t in _TYPES)
_FIT_COUNT_CUMULATIVE = _cumulative(_FIT_COUNT_WEIGHTS)


def _pick_index(cumulative: tuple[float, ...], r: Callable[[], float]) -> int:
    return min(bisect_right(cumulative, r() * cumulative[-1]), len(cumulative) - 1)


def _years(year_from: int, year_to: int, r: Callable[[], float]) -> tuple[int, int]:
    """Often the full production run; otherwise a sub-range (a part revised mid-generation)."""
    span = year_to - year_from
    if span < 5 or r() < 0.55:
        return year_from, year_to
    start = year_from + int(r() * (span - 3))
    end = start + 3 + int(r() * (year_to - start - 2))
    return start, min(end, year_to)


def _fitments(ptype: _PartType, r: Callable[[], float]) -> tuple[tuple[CatalogFitment, ...], float]:
    """Vehicles that really share the part, and the price factor of their family.

    'engine' parts (filters, plugs) fit one engine line across models; `same_engine` narrows that to one engine;
    'vehicle' parts (radiators, exhausts) fit one platform with one engine line; 'chassis' parts (brakes,
    suspension, body) fit one platform whatever the engine, so they carry no engine.
    """
    if ptype.fit == 'universal' or (ptype.fit == 'optional' and r() < 0.5):
        return (), 1.0
    view = _VIEWS[ptype.requires]
    index = _pick_index(view.cumulative, r)
    candidates = view.members[index]
    anchor = candidates[int(r() * len(candidates))]
    if ptype.same_engine:
        candidates = view.by_engine[index][anchor[4]]
    elif ptype.fit == 'vehicle':
        candidates = view.by_platform[index][_platform(anchor)]
    elif ptype.fit != 'engine':
        candidates = view.platforms[_platform(anchor)]
    n = len(candidates)
    k = min(n, _pick_index(_FIT_COUNT_CUMULATIVE, r) + 1)
    chosen = list(range(n))
    for i in range(k):  # partial Fisher-Yates on r() alone, to stay reproducible across Python versions
        j = i + int(r() * (n - i))
        chosen[i], chosen[j] = chosen[j], chosen[i]
    picked = sorted(chosen[:k])
    factor = view.families[index].price_factor
    if ptype.fit in ('engine', 'vehicle'):
        fitments = []
        for i in picked:
            make, model, year_from, year_to, engine, _ = candidates[i]
            start, end = _years(year_from, year_to, r)
            fitments.append(CatalogFitment(make, model, start, end, engine))
        return tuple(fitments), factor
    # One fitment per model, spanning the years of the engines picked.
    by_model: dict[tuple[str, str], list[int]] = {}
    for i in picked:
        make, model, year_from, year_to, _, _ = candidates[i]
        start, end = _years(year_from, year_to, r)
        years = by_model.get((make, model))
        if years is None:
            by_model[(make, model)] = [start, end]
        else:
            years[0], years[1] = min(years[0], start), max(years[1], end)
    return tuple(CatalogFitment(make, model, y[0], y[1], '') for (make, model), y in by_model.items()), factor


def _vehicle_label(fitment: CatalogFitment, *, years: bool = True) -> str:
    label = f'{_SHORT_MAKE.get(fitment.make, fitment.make)} {fitment.model}'
    if fitment.engine:
        label += f' {fitment.engine}'
    if years:
        label += f' ({fitment.year_from}-{fitment.year_to})'
    return label


def _vehicle_title(fitments: tuple[CatalogFitment, ...], r: Callable[[], float]) -> str:
    """'VW Gol Trend / Voyage 1.6 8v 2009-2016': the first vehicle and one more model of that make and engine."""
    first = fitments[0]
    models = [first.model]
    for fitment in fitments[1:]:
        if fitment.make == first.make and fitment.engine == first.engine and fitment.model not in models:
            models.append(fitment.model)
            break
    text = f'{_SHORT_MAKE.get(first.make, first.make)} {" / ".join(models)}'
    if first.engine:
        text += f' {first.engine}'
    if r() < 0.35:
        text += f' {first.year_from}-{first.year_to}'
    return text


def _ean(brand: str, r: Callable[[], float]) -> str:
    prefix = _EAN_PREFIX.get(brand, _DEFAULT_EAN_PREFIX)
    digits = 12 - len(prefix)
    body = prefix + str(int(r() * 10**digits)).zfill(digits)
    return body + ean13_check_digit(body)


def _net_price(ptype: _PartType, factor: float, r: Callable[[], float]) -> Decimal:
    """Shelf prices are set with IVA in round figures (e.g. $45.900); the stored net price is derived from them."""
    low, high = ptype.price
    gross = (low + (high - low) * r()) * factor * 1.21
    step = 10 if gross < 10000 else 100
    gross_rounded = max(step, round(gross / step) * step)
    return (Decimal(gross_rounded) / _IVA_FACTOR).quantize(_CENT, rounding=ROUND_HALF_UP)


def _stock(branch_codes: Sequence[str], price: Decimal, r: Callable[[], float]) -> dict[str, int]:
    # Branches keep few units of expensive parts; about one in five branch/product pairs is out of stock.
    cap = 60 if price < 50000 else 25 if price < 200000 else 8
    stock = {}
    for code in branch_codes:
        stock[code] = 0 if r() < 0.2 else min(cap, 1 + int(cap * r() ** 2.5))
    return stock


@dataclass(frozen=True, slots=True)
class _Draft:
    """The identity of a product (what it is, who makes it, what it fits) before prices, codes and stock."""

    ptype: _PartType
    variant_factor: float
    brand: _Brand
    line: _Line
    part_code: str
    code_key: tuple[str, str]
    fitments: tuple[CatalogFitment, ...]
    family_factor: float
    base_title: str
    title: str


def _draft(r: Callable[[], float], number: int, used_titles: set[str], used_codes: set[tuple[str, str]]) -> _Draft:
    """A product whose title and (brand, part number) are not taken yet."""
    # Finite lines (lamps, oils) run out of distinct products; retrying re-draws the part type as well.
    for _attempt in range(_MAX_ATTEMPTS):
        ptype = _TYPES[_pick_index(_TYPE_CUMULATIVE, r)]
        variant, variant_factor = ptype.variants[int(r() * len(ptype.variants))]
        brand = ptype.brands[int(r() * len(ptype.brands))]
        line = brand.lines[int(r() * len(brand.lines))]
        part_code = _expand(line.pattern, r, brand.variant_codes.get(variant, ()))
        code_key = (brand.name, normalize_code(part_code))
        if code_key in used_codes:
            continue
        fitments, family_factor = _fitments(ptype, r)
        head = (
            [ptype.name, brand.name, line.name, variant]
            if ptype.variant_last
            else [ptype.name, variant, brand.name, line.name]
        )
        base_title = ' '.join(p for p in head if p)
        pieces = [base_title]
        if r() < ptype.title_code:
            pieces.append(part_code)
        if fitments and r() < ptype.title_vehicle:
            pieces.append(_vehicle_title(fitments, r))
        title = ' '.join(pieces)
        if title not in used_titles:
            return _Draft(
                ptype, variant_factor, brand, line, part_code, code_key, fitments, family_factor, base_title, title
            )
    # Practically unreachable at demo sizes; keeps huge counts terminating with unique titles and codes.
    while code_key in used_codes:
        part_code = f'{part_code}-{number}'
        code_key = (brand.name, normalize_code(part_code))
    fitments, family_factor = _fitments(ptype, r)
    base_title = ' '.join(p for p in (ptype.name, variant, brand.name, line.name) if p)
    title = f'{base_title} {part_code}'
    if title in used_titles:
        title = f'{title} #{number}'
    return _Draft(ptype, variant_factor, brand, line, part_code, code_key, fitments, family_factor, base_title, title)


def _codes(draft: _Draft, r: Callable[[], float]) -> tuple[CatalogCode, ...]:
    """The maker's part number, 0-2 OEM numbers of the fitted makes, sometimes an EAN: never more than three."""
    codes = [CatalogCode(draft.part_code, 'part')]
    seen = {draft.code_key[1]}
    if draft.fitments:
        oem_count = 0 if r() < 0.25 else 1 if r() < 0.75 else 2
        makes = list(dict.fromkeys(f.make for f in draft.fitments))
        for i in range(oem_count):
            patterns = _OEM_PATTERNS[makes[min(i, len(makes) - 1)]]
            oem = _expand(patterns[int(r() * len(patterns))], r, ())
            if normalize_code(oem) not in seen:
                seen.add(normalize_code(oem))
                codes.append(CatalogCode(oem, 'oem'))
    # Packaged universal goods (oils, lamps) carry a barcode far more often than a control arm does.
    if len(codes) < 3 and r() < (0.25 if draft.fitments else 0.6):
        codes.append(CatalogCode(_ean(draft.brand.name, r), 'ean'))
    return tuple(codes)


def generate_catalog(
    count: int = 10_000, *, branch_codes: Sequence[str] = ('SUC1', 'SUC2', 'SUC3'), seed: int = 20261122
) -> list[CatalogProduct]:
    """`count` realistic products with unique SKUs and titles; the same arguments always give the same catalog."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ValueError(f'count must be a non-negative integer, got {count!r}')
    branches = tuple(branch_codes)
    if len(set(branches)) != len(branches) or not all(isinstance(b, str) and b.strip() for b in branches):
        raise ValueError(f'branch_codes must be unique non-empty strings, got {branches!r}')
    # The products form no reference cycles, yet the cyclic collector would rescan the growing list over and over:
    # pausing it roughly halves the run time (0.3 s instead of 0.55 s for 10,000 products).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate(count, branches, seed)
    finally:
        if collecting:
            gc.enable()


def _generate(count: int, branches: tuple[str, ...], seed: int) -> list[CatalogProduct]:
    r = random.Random(seed).random
    used_titles: set[str] = set()
    used_codes: set[tuple[str, str]] = set()  # (brand, normalized part number): one SKU per maker part number
    products: list[CatalogProduct] = []
    width = max(6, len(str(count)))
    for number in range(1, count + 1):
        draft = _draft(r, number, used_titles, used_codes)
        used_titles.add(draft.title)
        used_codes.add(draft.code_key)
        ptype, brand = draft.ptype, draft.brand
        sku = f'{_CATEGORY_PREFIX[ptype.category]}-{number:0{width}d}'
        price = _net_price(ptype, draft.variant_factor * draft.line.factor * brand.tier * draft.family_factor, r)
        codes = _codes(draft, r)
        description = _description(draft, codes, r)
        images = tuple(f'{_IMAGE_BASE}/{sku}/{i}.jpg' for i in range(1, _IMAGE_COUNTS[int(r() * 10)] + 1))
        products.append(
            CatalogProduct(
                sku=sku,
                title=draft.title,
                category=ptype.category,
                brand=brand.name,
                description=description,
                price=price,
                iva_rate=_IVA,
                codes=codes,
                fitments=draft.fitments,
                image_urls=images,
                stock=_stock(branches, price, r),
            )
        )
    return products


def _description(draft: _Draft, codes: tuple[CatalogCode, ...], r: Callable[[], float]) -> str:
    ptype, fitments, brand, part_code, base_title = (
        draft.ptype,
        draft.fitments,
        draft.brand.name,
        draft.part_code,
        draft.base_title,
    )
    sentences = [f'{base_title}.']
    features = ptype.features
    if features:
        first = int(r() * len(features))
        sentences.append(features[first])
        if len(features) > 1 and r() < 0.5:
            sentences.append(features[(first + 1) % len(features)])
    if fitments:
        sentences.append('Compatible con: ' + '; '.join(_vehicle_label(f) for f in fitments) + '.')
    elif ptype.fit == 'universal':
        sentences.append('Producto universal: verificar la especificación indicada en el manual del vehículo.')
    else:
        sentences.append('Consultar compatibilidad con su vehículo (modelo, año y motor).')
    sentences.append(f'Código {brand}: {part_code}.')
    oems = [c.code for c in codes if c.kind == 'oem']
    if oems:
        sentences.append('Referencia OEM: ' + ', '.join(oems) + '.')
    sentences.append(f'Garantía: {_WARRANTY_MONTHS[int(r() * len(_WARRANTY_MONTHS))]} meses.')
    return ' '.join(sentences)
