"""The inbox search (C1): contact name, phone and message text, on PostgreSQL and SQLite.

Spanish speakers type without accents and in any case, so "camara" finds "Cámara". Each database uses
the objects migration 0003 made for it (`app/migrations/versions/0003_inbox_search.py`):

- PostgreSQL: `LIKE '%…%'` over `lower(leadmaster_unaccent(column) COLLATE "C")`, which GIN trigram
  indexes answer without reading every row. The expressions here must stay identical to the indexed ones.
  Names contain the whole term; a message must contain each of its words (anywhere inside words).
- SQLite: message text through the FTS5 table `messages_fts`: each word of the term as a word prefix,
  diacritics and case folded by its tokenizer. Names through GLOB with a character class per letter
  (SQLite cannot fold accents itself, and names are few enough to scan).

The term is user input: it only ever reaches the database as a bound parameter, with LIKE/GLOB
wildcards escaped and FTS5 words quoted, so it always means itself.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from sqlalchemy import (
    ColumnElement,
    SQLColumnExpression,
    String,
    and_,
    column,
    func,
    literal,
    or_,
    select,
    table,
    true,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlmodel import col

from ..errors import InvalidInput
from ..models import Contact, Conversation, Message
from ..phones import normalize_phone

MAX_TERM_LENGTH = 100
# Message text is searched only when a word has at least this many letters/digits: a trigram index
# cannot narrow a shorter one (it would read the whole index), and it matches most messages anyway.
MIN_TEXT_CHARACTERS = 3  # in at least one word
MIN_PHONE_DIGITS = 3
LIKE_ESCAPE = '\\'

# A term that is only digits and the punctuation people write phone numbers with.
_PHONE_LIKE = re.compile(r'[0-9+\s().\-/]+')
# Word characters as FTS5's unicode61 tokenizer sees them: letters and digits ('_' separates).
_WORD = re.compile(r'[^\W_]+')
_ALPHANUMERIC = re.compile(r'[^\W_]')

# The subqueries read contacts and conversations under their own names, so they never correlate with
# the caller's query, which joins the same tables.
_contact = aliased(Contact, name='search_contacts')
_conversation = aliased(Conversation, name='search_conversations')
# The FTS5 table over messages.text (SQLite only); `messages_fts` is also its hidden "whole row" column.
_messages_fts = table('messages_fts', column('rowid'), column('messages_fts'))


def normalize_term(raw: str) -> str:
    """The searchable form of what the user typed: NFC, single spaces, at most 100 characters;
    '' when nothing is left to search for."""
    # NFC: an accent typed as a combining mark must compare like the precomposed letter.
    text = unicodedata.normalize('NFC', raw)
    # Control, format (zero-width) and surrogate characters are not searchable, and PostgreSQL rejects NUL.
    text = ''.join(' ' if unicodedata.category(char) in {'Cc', 'Cf', 'Cs'} else char for char in text)
    return ' '.join(text.split())[:MAX_TERM_LENGTH].strip()


def conversation_matches(dialect: str, term: str) -> ColumnElement[bool]:
    """WHERE clause for a SELECT over Conversation joined with Contact (Contact.id == Conversation.contact_id):
    the contact's display or profile name contains the term, the phone contains its digits (when the term
    looks like a phone number with at least 3 digits), or a message of the conversation contains it.
    Accents and case never matter. An empty term matches everything (an empty search box filters nothing).
    Message text is searched word by word (all words, any order) once a word has 3 letters or digits."""
    term = normalize_term(term)
    if not term:
        return true()
    if dialect == 'postgresql':
        contact_conditions, message_condition = _postgresql_conditions(term)
    elif dialect == 'sqlite':
        contact_conditions, message_condition = _sqlite_conditions(term)
    else:
        raise ValueError(f'inbox search is not implemented for {dialect!r}')
    contact_conditions.extend(col(_contact.phone_e164).like(f'%{digits}%') for digits in phone_digits(term))
    # One `id IN (… UNION ALL …)`: each branch is answered from its own index (contacts' names and phones,
    # messages' text) and, ANDed with the caller's filters, the IN becomes a semi-join the planner sizes
    # from its estimates. Two IN subqueries joined by OR would stay per-row filters instead: a filter on
    # the joined contact row folds every contact's name, and an IN whose result outgrows work_mem is
    # re-read for every conversation (PostgreSQL planned exactly that for a term found in every message).
    by_contact = (
        select(col(_conversation.id))
        .where(
            col(_conversation.contact_id).in_(select(col(_contact.id)).where(or_(*contact_conditions)).correlate(None))
        )
        .correlate(None)
    )
    if message_condition is None:
        return col(Conversation.id).in_(by_contact)
    by_message = select(col(Message.conversation_id)).where(message_condition).correlate(None)
    return col(Conversation.id).in_(union_all(by_contact, by_message))


def phone_digits(term: str) -> list[str]:
    """The digit strings to look for in phone numbers: the term's digits and, when the term is a whole
    Argentine number written locally ('011 15 5555-0101', '+54 11 5555 0101'), its E.164 digits."""
    if not _PHONE_LIKE.fullmatch(term):
        return []  # 'filtro 2015' is about a year, not about phones ending in 2015
    digits = re.sub(r'[^0-9]', '', term)
    if len(digits) < MIN_PHONE_DIGITS:
        return []
    found = [digits]
    try:
        e164_digits = normalize_phone(term).lstrip('+')
    except InvalidInput:
        return found  # a fragment, not a whole number
    if e164_digits not in found:
        found.append(e164_digits)
    return found


def escape_like(term: str) -> str:
    """`term` with LIKE's wildcards and the escape character itself taken literally (ESCAPE '\\')."""
    return term.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _has_text_to_search(words: list[str]) -> bool:
    # One word long enough for the index to narrow the search; the others are then only rechecked.
    return any(len(_ALPHANUMERIC.findall(word)) >= MIN_TEXT_CHARACTERS for word in words)


# PostgreSQL ---------------------------------------------------------------------------------------


def _pg_fold(expression: SQLColumnExpression[str]) -> ColumnElement[str]:
    # Exactly the indexed expression (migration 0003): unaccent first, then lower() in the "C" collation
    # has only ASCII left to fold (cheap, and the same in every database collation).
    return func.lower(func.leadmaster_unaccent(expression).collate('C'))


def _postgresql_conditions(term: str) -> tuple[list[ColumnElement[bool]], ColumnElement[bool] | None]:
    # Folding the bound pattern with the same SQL functions guarantees both sides agree; PostgreSQL
    # evaluates it once per query (the function is IMMUTABLE), and the indexes still apply.
    pattern = _contains_pattern(term)
    names: list[ColumnElement[bool]] = [
        _pg_fold(col(_contact.display_name)).like(pattern, escape=LIKE_ESCAPE),
        _pg_fold(col(_contact.profile_name)).like(pattern, escape=LIKE_ESCAPE),
    ]
    # Message text: every word somewhere in one message, in any order ('pastil fren' finds
    # 'pastillas de freno'), as FTS5 does on SQLite. Punctuation stays part of a word and literal here.
    words = list(dict.fromkeys(term.split()))
    if not _has_text_to_search(words):
        return names, None
    return names, and_(
        *(_pg_fold(col(Message.text)).like(_contains_pattern(word), escape=LIKE_ESCAPE) for word in words)
    )


def _contains_pattern(text: str) -> ColumnElement[str]:
    return _pg_fold(literal(f'%{escape_like(text)}%', String))


# SQLite -------------------------------------------------------------------------------------------


def _sqlite_conditions(term: str) -> tuple[list[ColumnElement[bool]], ColumnElement[bool] | None]:
    pattern = literal(f'*{glob_pattern(term)}*', String)
    names: list[ColumnElement[bool]] = [
        col(_contact.display_name).op('GLOB', is_comparison=True)(pattern),
        col(_contact.profile_name).op('GLOB', is_comparison=True)(pattern),
    ]
    query = fts5_query(term)
    # Decided on the same whitespace-separated words as on PostgreSQL, so both search the same terms.
    if not query or not _has_text_to_search(term.split()):
        return names, None
    matching_ids = select(_messages_fts.c.rowid).where(_messages_fts.c.messages_fts.match(literal(query, String)))
    return names, col(Message.id).in_(matching_ids)


def fts5_query(term: str) -> str:
    """An FTS5 MATCH expression: every word of the term as a quoted string (so AND, NEAR, *, quotes or
    parentheses in the input are plain words), each matching as a word prefix, all required.
    'pastil fren' finds 'pastillas de freno'. Single letters match whole words only (a one-letter
    prefix would expand to a large part of the index). '' when the term has no words."""
    words = _WORD.findall(term)
    # The words hold only letters and digits, so they need no escaping inside the quotes.
    return ' '.join(f'"{word}"*' if len(word) > 1 else f'"{word}"' for word in words)


def glob_pattern(term: str) -> str:
    """A GLOB pattern (without the surrounding *) matching `term` regardless of accents and case:
    each letter becomes a class of its variants ('a' → [aAáÁàÀ…]); GLOB's own *, ? and [ are literal."""
    classes = _letter_classes()
    parts = []
    for char in term:
        variants = classes.get(_fold_letter(char))
        if variants is not None:
            parts.append(f'[{variants}]')
        elif char in '*?[]':
            parts.append(f'[{char}]')  # a class of one character is that character, literally
        else:
            parts.append(char)
    return ''.join(parts)


def _fold_letter(char: str) -> str:
    decomposed = unicodedata.normalize('NFD', char)
    return ''.join(part for part in decomposed if not unicodedata.combining(part)).lower()


@cache
def _letter_classes() -> dict[str, str]:
    """ASCII letter → itself and every Latin letter that folds to it, in both cases."""
    groups: dict[str, list[str]] = {}
    for codepoint in [*range(ord('A'), ord('Z') + 1), *range(ord('a'), ord('z') + 1), *range(0xC0, 0x250)]:
        char = chr(codepoint)
        folded = _fold_letter(char)
        if len(folded) == 1 and 'a' <= folded <= 'z':
            groups.setdefault(folded, []).append(char)
    return {letter: ''.join(chars) for letter, chars in groups.items()}
