"""Spanish text folding for catalog search: one normalization for products and queries on both databases.

Products are indexed by `search_text`, a string of normalized words computed here in Python when a product is
imported, and queries go through the very same `words()`. So accents, case, punctuation and decimal points are
treated identically on SQLite and PostgreSQL, and neither database needs an accent-folding function at query time.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container, Iterable
from functools import lru_cache

from rapidfuzz.distance import OSA

# Words that carry no meaning in a product search ("pastillas DE freno PARA el gol").
STOP_WORDS = frozenset(
    """
a al algo alguna alguno algunas algunos ante con contra de del desde e el en entre es esa ese eso esta este
esto hasta la las le les lo los me mi mis muy ni o para pero por que se sin sobre su sus te tu tus un una unas
unos y ya
""".split()
)

# es-AR and regional names for the same part, rewritten to the word the catalog titles use.
SYNONYMS = {
    'balatas': 'pastillas',
    'balata': 'pastilla',
    'zapatas': 'pastillas',
    'pastiyas': 'pastillas',
    'amortiguacion': 'amortiguador',
    'amortiguadores': 'amortiguador',
    'bujias': 'bujia',
    'lamparita': 'lampara',
    'lamparitas': 'lampara',
    'foco': 'lampara',
    'focos': 'lampara',
    'escobillas': 'escobilla',
    'plumillas': 'escobilla',
    'limpiaparabrisas': 'escobilla',
    'rulemanes': 'ruleman',
    'rodamiento': 'ruleman',
    'rodamientos': 'ruleman',
    'nafta': 'combustible',
    'gasoil': 'diesel',
    'gasoleo': 'diesel',
    'volks': 'volkswagen',
    'chevy': 'chevrolet',
    'chevrole': 'chevrolet',
}

_DECIMAL = re.compile(r'(?<=\d)[.,](?=\d)')
_NON_WORD = re.compile(r'[^a-z0-9]+')


# The accented letters of Spanish (and of the makers' names) folded by table: ten times faster than decomposing.
_ACCENTS = str.maketrans('áéíóúüñàèìòùâêîôûäëïöçã', 'aeiouunaeiouaeiouaeioca')


def fold(text: str) -> str:
    """Lower case without accents: 'Suspensión' -> 'suspension', 'Lemförder' -> 'lemforder', 'Ñ' -> 'n'."""
    folded = text.casefold().translate(_ACCENTS)
    if folded.isascii():
        return folded
    decomposed = unicodedata.normalize('NFKD', folded)
    return ''.join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=4096)
def words(text: str, *, keep_stop_words: bool = False) -> tuple[str, ...]:
    """The normalized words of `text`: folded, decimals kept as one word ('1.6' -> '1p6'), punctuation dropped,
    synonyms applied, stop words and one-letter words removed."""
    folded = _DECIMAL.sub('p', fold(text))
    out: list[str] = []
    for piece in _NON_WORD.split(folded):
        if len(piece) < 2 and not piece.isdigit():
            continue
        word = SYNONYMS.get(piece, piece)
        if not keep_stop_words and word in STOP_WORDS:
            continue
        out.append(word)
    return tuple(out)


# Marks a product without fitments (it fits any vehicle), so "part AND (vehicle words OR universal)" is one
# full-text query. Reserved: never a word of the vocabulary.
UNIVERSAL_WORD = 'zzuniversal'


def search_text(*, title: str, category: str, brand: str, vehicles: Iterable[str] = ()) -> str:
    """What a product is found by: its title, category, brand and the makes/models it fits, each word once.

    The description is left out on purpose: it says things like "cambiar junto con el filtro de aceite" on an
    oil, which would make "filtro aceite" find oils instead of filters.

    A plural or gender form of a word already there is left out too ("Filtro de aceite" in the category
    "Filtros" is indexed under 'filtro' only): a query word is expanded to all its forms the catalog has, so
    it still matches, and the full-text index does not keep a second posting list of nearly the same
    products (at 1,000,000 products, 'filtro' OR 'filtros' read 240,000 entries per search instead of 120,000).
    """
    seen: dict[str, None] = {}
    vehicles = list(vehicles)
    for part in (title, category, brand, *vehicles):
        for word in words(part):
            if len(word) > 1 and word != UNIVERSAL_WORD and not word_variants(word, seen):
                seen[word] = None
    if not vehicles:
        seen[UNIVERSAL_WORD] = None
    return ' '.join(seen)


def word_variants(word: str, vocabulary: Container[str]) -> list[str]:
    """`word` plus its Spanish singular/plural and gender forms that exist in `vocabulary`
    (pastilla/pastillas, luz/luces, delantero/delantera/delanteros)."""
    candidates = [word, word + 's', word + 'es']
    if word.endswith('es'):
        candidates.append(word[:-2])
    if word.endswith('s'):
        candidates.append(word[:-1])
    if word.endswith('z'):
        candidates.append(word[:-1] + 'ces')
    if word.endswith('ces'):
        candidates.append(word[:-3] + 'z')
    stem = word[:-1] if word.endswith('s') else word
    if stem.endswith(('o', 'a')):
        other = stem[:-1] + ('a' if stem.endswith('o') else 'o')
        candidates += [other, other + 's']
    seen: dict[str, None] = {}
    for candidate in candidates:
        if candidate in vocabulary:
            seen.setdefault(candidate, None)
    return list(seen)


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance with transpositions ('pastilals' -> 'pastillas' is 1); returns limit + 1 once over `limit`.
    The optimal-string-alignment variant, computed by rapidfuzz (C++): in pure Python this was a third of the
    worker's CPU, since every bot turn and summary matches vehicle models with it."""
    return OSA.distance(a, b, score_cutoff=limit)


def allowed_typos(word: str) -> int:
    """How many edits a typed word may be from a catalog word: none for short words and numbers (a wrong
    digit is another part), one from 4 letters, two from 8."""
    if any(ch.isdigit() for ch in word) or len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


def _deletes(word: str, depth: int) -> set[str]:
    result = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w)) if len(w) > 1}
        result |= frontier
    return result


class Corrector:
    """Typo correction against the catalog's own words (symmetric-delete lookup, as in SymSpell).

    Every vocabulary word is indexed under the strings obtained by deleting up to two of its letters; a typed
    word's deletions meet them, which finds every word within the allowed edit distance in well under a
    millisecond, instead of comparing with thousands of words one by one.
    """

    def __init__(self, vocabulary: dict[str, int]) -> None:
        self.vocabulary = vocabulary
        self._index: dict[str, list[str]] = {}
        for word in vocabulary:
            depth = allowed_typos(word) if len(word) >= 4 else 0
            if not depth:
                continue
            for deleted in _deletes(word, min(depth, 2)):
                self._index.setdefault(deleted, []).append(word)

    def corrections(self, word: str, *, limit: int = 3) -> list[str]:
        """Catalog words within the allowed distance of `word`, nearest first, then the most frequent."""
        depth = allowed_typos(word)
        if not depth:
            return []
        found: dict[str, int] = {}
        for deleted in _deletes(word, depth):
            for candidate in self._index.get(deleted, ()):
                if candidate not in found:
                    distance = damerau_levenshtein(word, candidate, depth)
                    if distance <= min(depth, allowed_typos(candidate)):
                        found[candidate] = distance
        if not found:
            return []
        best = min(found.values())
        nearest = [w for w, d in found.items() if d == best]
        nearest.sort(key=lambda w: (-self.vocabulary.get(w, 0), w))
        return nearest[:limit]
