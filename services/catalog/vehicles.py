"""Vehicles as customers and agents write them: "Gol Trend 2015", "un corsa clasic del 2009", "peugeot 208 '17".

`VehicleVocabulary` knows the makes and models (the catalog's fitments plus the common Argentine models, so it
works before any catalog is loaded) and `find_vehicle` pulls make, model, year and engine out of free text,
tolerating typos, missing spaces ("goltrend") and slang ("vw", "chevy"). The search service uses it to turn the
vehicle part of a query into a fitment filter; the assistant uses it to understand customers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .text import damerau_levenshtein, fold

# The common models of the Argentine market (and of the demo catalog), by make.
COMMON_MODELS: dict[str, tuple[str, ...]] = {
    'Volkswagen': (
        'Amarok',
        'Bora',
        'Fox',
        'Gol',
        'Gol Trend',
        'Golf',
        'Polo',
        'Saveiro',
        'Suran',
        'T-Cross',
        'Taos',
        'Tiguan',
        'Vento',
        'Virtus',
        'Voyage',
        'Up',
        'Nivus',
        'Passat',
        'Senda',
    ),
    'Ford': (
        'Courier',
        'EcoSport',
        'Fiesta',
        'Fiesta Kinetic',
        'Focus',
        'Ka',
        'Mondeo',
        'Ranger',
        'Territory',
        'Maverick',
        'Escort',
        'Falcon',
        'F-100',
    ),
    'Chevrolet': (
        'Agile',
        'Captiva',
        'Celta',
        'Classic',
        'Corsa',
        'Corsa Classic',
        'Cruze',
        'Meriva',
        'Montana',
        'Onix',
        'Onix Plus',
        'Prisma',
        'S10',
        'Spin',
        'Tracker',
        'Trailblazer',
        'Astra',
        'Vectra',
        'Aveo',
    ),
    'Fiat': (
        'Argo',
        'Cronos',
        'Ducato',
        'Fiorino',
        'Grand Siena',
        'Idea',
        'Mobi',
        'Palio',
        'Pulse',
        'Punto',
        'Siena',
        'Strada',
        'Toro',
        'Uno',
        'Duna',
        '147',
        '128',
        'Fastback',
        'Qubo',
    ),
    'Renault': (
        'Clio',
        'Duster',
        'Duster Oroch',
        'Fluence',
        'Kangoo',
        'Kwid',
        'Logan',
        'Megane',
        'Sandero',
        'Sandero RS',
        'Stepway',
        'Symbol',
        'Captur',
        'Koleos',
        'Alaskan',
        'Renault 12',
        'Renault 9',
        'Renault 19',
        'Twingo',
        'Scenic',
        'Master',
        'Trafic',
    ),
    'Peugeot': (
        '2008',
        '206',
        '207 Compact',
        '208',
        '3008',
        '307',
        '308',
        '408',
        'Partner',
        '504',
        '505',
        '405',
        '306',
        '207',
        '301',
        '5008',
        'Expert',
        'Boxer',
    ),
    'Citroën': (
        'Berlingo',
        'C3',
        'C4',
        'C4 Lounge',
        'Xsara Picasso',
        'C3 Aircross',
        'C4 Cactus',
        'Xsara',
        'C5',
        'Jumper',
        'C-Elysée',
    ),
    'Toyota': ('Corolla', 'Corolla Cross', 'Etios', 'Hilux', 'SW4', 'Yaris', 'RAV4', 'Camry', 'Hiace'),
    'Nissan': ('Frontier', 'Kicks', 'March', 'Sentra', 'Tiida', 'Versa', 'Note', 'X-Trail'),
    'Honda': ('CR-V', 'City', 'Civic', 'Fit', 'HR-V', 'WR-V'),
    'Jeep': ('Renegade', 'Compass', 'Cherokee', 'Grand Cherokee', 'Commander'),
    'Hyundai': ('Tucson', 'Creta', 'HB20', 'i10', 'Santa Fe'),
    'Kia': ('Sportage', 'Rio', 'Picanto', 'Cerato', 'Sorento'),
    'Mercedes-Benz': ('Sprinter', 'Vito', 'Clase A', 'Clase C'),
    'Chery': ('QQ', 'Tiggo'),
    'Suzuki': ('Swift', 'Vitara', 'Fun'),
    'RAM': ('1500', '2500'),
}

# How makes are written in chats.
MAKE_ALIASES: dict[str, str] = {
    'vw': 'Volkswagen',
    'volks': 'Volkswagen',
    'volkswagen': 'Volkswagen',
    'wolkswagen': 'Volkswagen',
    'volkswaguen': 'Volkswagen',
    'volkwagen': 'Volkswagen',
    'volswagen': 'Volkswagen',
    'ford': 'Ford',
    'chevrolet': 'Chevrolet',
    'chevy': 'Chevrolet',
    'chevrole': 'Chevrolet',
    'chevo': 'Chevrolet',
    'gm': 'Chevrolet',
    'fiat': 'Fiat',
    'renault': 'Renault',
    'renol': 'Renault',
    'reno': 'Renault',
    'peugeot': 'Peugeot',
    'peugot': 'Peugeot',
    'pegeot': 'Peugeot',
    'peujo': 'Peugeot',
    'peugeo': 'Peugeot',
    'pugeot': 'Peugeot',
    'citroen': 'Citroën',
    'citroén': 'Citroën',
    'citroem': 'Citroën',
    'toyota': 'Toyota',
    'nissan': 'Nissan',
    'nisan': 'Nissan',
    'honda': 'Honda',
    'jeep': 'Jeep',
    'hyundai': 'Hyundai',
    'kia': 'Kia',
    'mercedes': 'Mercedes-Benz',
    'mercedes benz': 'Mercedes-Benz',
    'chery': 'Chery',
    'suzuki': 'Suzuki',
    'ram': 'RAM',
}

# Model names that are also everyday Spanish words: only a vehicle with the make or a year next to them.
_AMBIGUOUS_MODELS = frozenset(
    {
        'uno',
        'idea',
        'toro',
        'polo',
        'prisma',
        'montana',
        'spin',
        'city',
        'up',
        'fun',
        'note',
        'master',
        'clase a',
        'clase c',
        'rio',
        'fit',
        'senda',
        'expert',
        'duna',
    }
)
ENGINE_WORDS = (
    'nafta',
    'naftero',
    'diesel',
    'diésel',
    'gasoil',
    'gnc',
    'turbo',
    'tdi',
    'hdi',
    'tdci',
    'dci',
    'jtd',
    'multijet',
    'fire',
    'msi',
    'tsi',
    'thp',
    '8v',
    '16v',
    '12v',
    '20v',
    'td',
    'sd',
    'ctdi',
    'vcdi',
)
# "filtro de nafta", "bomba de gasoil": after "de" a fuel names the part, not the engine.
_FUELS = frozenset({'nafta', 'diesel', 'diésel', 'gasoil', 'gnc'})
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9])?|'[0-9]{2}")
_YEAR_WORDS = frozenset({'modelo', 'mod', 'ano', 'anio', 'año', 'del', 'de', 'version'})
MIN_YEAR, MAX_YEAR = 1950, 2035
# Issue 18: numbers that are prices, distances, engine sizes or quantities are not years ("Dale, las de 61 mil"
# made a Gol Trend 1961). The word after such a number, or before it, says which it is.
_NOT_YEAR_AFTER = frozenset(
    {
        'mil',
        'k',
        'lucas',
        'luca',
        'pesos',
        'mangos',
        'dolares',
        'dólares',
        'usd',
        'km',
        'kms',
        'kilometros',
        'kilómetros',
        'cc',
        'cm3',
        'hp',
        'cv',
        'cuotas',
        'unidades',
        'u',
        'x',
        'por',
        '%',
        'rpm',
        'mm',
        'kg',
    }
)
_NOT_YEAR_BEFORE = frozenset({'$', 'ars', 'usd', 'u$s', 'x', 'por', 'hasta', 'pago', 'pagué', 'cuesta', 'sale'})


@dataclass(frozen=True)
class Vehicle:
    make: str | None = None
    model: str | None = None
    year: int | None = None
    engine: str | None = None

    @property
    def known(self) -> bool:
        return bool(self.make or self.model)

    @property
    def complete(self) -> bool:
        return bool(self.model and self.year)

    def label(self) -> str:
        make = 'VW' if self.make == 'Volkswagen' else self.make
        return ' '.join(str(part) for part in (make, self.model, self.engine, self.year) if part)

    def merged_over(self, older: Vehicle | None) -> Vehicle:
        """This (newer) mention completed with what an older one said, unless they name different vehicles."""
        if older is None:
            return self
        if self.model and older.model and _compact(self.model) != _compact(older.model):
            return self
        if self.make and older.make and self.make != older.make:
            return self
        return Vehicle(
            make=self.make or older.make,
            model=self.model or older.model,
            year=self.year or older.year,
            engine=self.engine or older.engine,
        )


@dataclass(frozen=True)
class VehicleMatch:
    vehicle: Vehicle
    # Positions (in `tokens(text)`) the vehicle took, so the rest of the text can be searched as the part.
    spans: frozenset[int] = field(default_factory=frozenset)


def tokens(text: str) -> list[str]:
    """Folded tokens with single letters and decimals kept ('T-Cross' -> ['t', 'cross'], '1.6' -> ['1.6'])."""
    return [token.replace(',', '.') for token in _TOKEN.findall(fold(text))]


def _compact(text: str) -> str:
    return ''.join(tokens(text))


class VehicleVocabulary:
    def __init__(self, models: Iterable[tuple[str, str]] = ()) -> None:
        pairs = {(make, model) for make, names in COMMON_MODELS.items() for model in names}
        pairs.update((make, model) for make, model in models if make and model)
        self.models: dict[str, list[tuple[str, str]]] = {}  # compact model -> [(make, model)]
        for make, model in sorted(pairs):
            self.models.setdefault(_compact(model), []).append((self._canonical_make(make), model))
        self.model_lengths = sorted({len(tokens(model)) for _, model in pairs}, reverse=True)
        # By first letter: a typo rarely hits the first one, and it cuts the comparisons twentyfold.
        self._fuzzy_keys: dict[str, list[str]] = {}
        for key in self.models:
            if len(key) >= 4 and not key.isdigit():
                self._fuzzy_keys.setdefault(key[0], []).append(key)
        self._tokens = {key: tokens(entries[0][1]) for key, entries in self.models.items()}

    @staticmethod
    def _canonical_make(make: str) -> str:
        return MAKE_ALIASES.get(fold(make), make)

    def models_of(self, make: str | None, model: str) -> list[str]:
        """The catalog spellings a model stands for: 'Gol' also means 'Gol Trend' (customers say "un Gol
        2015"), 'Corsa' also 'Corsa Classic'; a full name ('Gol Trend') means only itself."""
        key = _compact(model)
        head = tokens(model)
        names = set()
        for compact, entries in self.models.items():
            for entry_make, name in entries:
                if make and entry_make != make:
                    continue
                if compact == key or tokens(name)[: len(head)] == head:
                    names.add(name)
        return sorted(names) or [model]

    def _match_model(self, words: list[str], start: int) -> tuple[int, list[tuple[str, str]], bool] | None:
        """The longest model starting at `start`: (number of tokens, candidates, exact?). A longer name with
        a typo ("corsa clasic") beats a shorter exact one ("corsa")."""
        for length in range(min(3, len(words) - start), 0, -1):
            key = ''.join(words[start : start + length])
            if key in self.models:
                return length, self.models[key], True
            if len(key) < 5 or any(ch.isdigit() for ch in key):
                continue
            limit = 1 if len(key) < 8 else 2
            best = []
            for candidate in self._fuzzy_keys.get(key[0], ()):
                if abs(len(candidate) - len(key)) > limit:
                    continue
                # Several words: the first must be exact, or "de una" would become a Fiat Duna.
                if length > 1 and not candidate.startswith(words[start]):
                    continue
                if length == 1 and len(self._tokens[candidate]) > 1:
                    continue
                distance = damerau_levenshtein(key, candidate, limit)
                if distance <= limit:
                    best.append((distance, candidate))
            if best:
                best.sort()
                return length, self.models[best[0][1]], False
        return None

    def find(self, text: str) -> VehicleMatch | None:  # noqa: PLR0912, PLR0915 - one pass, read top to bottom
        """The vehicle named in `text`, or None. Make, model, year and engine are each optional."""
        words = tokens(text)
        used: set[int] = set()
        make = None
        for index, word in enumerate(words):
            pair = f'{word} {words[index + 1]}' if index + 1 < len(words) else ''
            if pair in MAKE_ALIASES:
                make = MAKE_ALIASES[pair]
                used |= {index, index + 1}
                break
            if word in MAKE_ALIASES:
                make = MAKE_ALIASES[word]
                used.add(index)
                break
        model, model_end = None, -1
        index = 0
        while index < len(words):
            if index in used:
                index += 1
                continue
            match = self._match_model(words, index)
            if match is None:
                index += 1
                continue
            length, candidates, _ = match
            key = ''.join(words[index : index + length])
            candidates = [c for c in candidates if make is None or c[0] == make] or ([] if make else candidates)
            after = words[index + length : index + length + 3]
            previous = words[index - 1] if index > 0 else ''
            # "uno fire 2010", "idea 1.4 2012": a year or an engine right after the name makes it a model.
            year_next = any(
                _year_of(word, previous_is_model=True) is not None
                or word in ENGINE_WORDS
                or re.fullmatch(r'[0-9]\.[0-9]', word)
                for word in after[:2]
            )
            if not candidates or (
                key.isdigit() and _year_of(key) is not None and make is None and previous not in MAKE_ALIASES
            ):
                index += 1  # "2008" alone is a year, not the Peugeot 2008
                continue
            if key in _AMBIGUOUS_MODELS and not make and not year_next:
                index += 1
                continue
            model_make, model = candidates[0]
            make = make or (model_make if len({c[0] for c in candidates}) == 1 else None)
            used |= set(range(index, index + length))
            model_end = index + length
            break
        year = None
        for position, word in enumerate(words):
            if position in used:
                continue
            previous = words[position - 1] if position else ''
            following = words[position + 1] if position + 1 < len(words) else ''
            if following in _NOT_YEAR_AFTER or previous in _NOT_YEAR_BEFORE:
                continue  # "las de 61 mil", "$ 2015", "2000 km", "2 x 1500": a price, a distance, a quantity
            value = _year_of(word, previous_is_model=position == model_end or previous in _YEAR_WORDS)
            if value is not None:
                year = value
                used.add(position)
                break
        engine_parts = []
        for position, word in enumerate(words):
            if position in used:
                continue
            if word in _FUELS and position and words[position - 1] in {'de', 'del', 'a'}:
                continue
            if re.fullmatch(r'[0-9]\.[0-9]', word) or word in ENGINE_WORDS:
                engine_parts.append('diesel' if word in {'diésel', 'gasoil'} else word)
                used.add(position)
        engine = ' '.join(engine_parts) or None
        if not (make or model) and year is None:
            # "es 1.6 nafta": only the engine; worth keeping to complete a vehicle named earlier.
            return VehicleMatch(Vehicle(engine=engine), frozenset(used)) if engine else None
        if not (make or model) and engine is None and not any(w in _YEAR_WORDS for w in words):
            return None  # a lone number is a quantity or a price more often than a model year
        return VehicleMatch(Vehicle(make=make, model=model, year=year, engine=engine), frozenset(used))


def _year_of(word: str, *, previous_is_model: bool = False) -> int | None:
    if word.startswith("'") and word[1:].isdigit():
        value = int(word[1:])
        return 2000 + value if value <= MAX_YEAR - 2000 else 1900 + value
    if not word.isdigit():
        return None
    if len(word) == 4 and MIN_YEAR <= int(word) <= MAX_YEAR:
        return int(word)
    if len(word) == 2 and previous_is_model:
        value = int(word)
        return 2000 + value if value <= MAX_YEAR - 2000 else (1900 + value if value >= MIN_YEAR - 1900 else None)
    return None
