"""The lead scores of seed 002 (SPEC L1): `score_contactabilidad` (can we reach this person on WhatsApp?) and
digital maturity (does the business have a web presence?), each 0-100 with the reasons that make it up.

The ONE place the formula and its weights live; docs/leads.md explains the same table in words. Pure functions:
the callers (services/leads/rescoring.py, the import) gather the facts and store the result.

Contactability, added up then kept within 0-100:
  no valid phone number                           -> 0, nothing else counts
  valid phone number                              +40
  a mobile (WhatsApp lives on mobiles)            +20   (a fixed line: +0)
  WhatsApp said the number exists                 +30   (not asked yet, "sin verificar": +0;
  WhatsApp said it does NOT exist                 -40    then the other reasons cannot lift it past 20)
  they wrote to us on WhatsApp                    +30   (instead of the line above: their message is the proof)
  a message reached them before (delivered/read)  +10
  each recent failed send (last 90 days)          -10   (at most three count)
  each recent "undeliverable" from Meta (131026)  -30   (at most two count)
  opted out                                       -> 0, whatever else holds
So a valid mobile nobody checked scores 60 (below the send gate's 70): it passes once WhatsApp confirms it (90),
or a person validates it on the validation screen.

Digital maturity, added up then kept within 0-100:
  a website, well formed (http(s)://name.tld)    +40   (written but malformed: +10)
  a corporate e-mail (the business's own domain)  +30   (a free mailbox such as gmail: +10)
  the e-mail's domain is the website's            +10
  each social profile (Instagram, Facebook…)      +10   (at most two count)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..phones import is_mobile

SEND_GATE_MINIMUM = 70  # the outbox refuses less (SPEC L2); shown on the screens so people know the line

PHONE_VALID = 40
PHONE_MOBILE = 20
WHATSAPP_EXISTS = 30
WHATSAPP_MISSING = -40
WHATSAPP_MISSING_CAP = 20
DELIVERED_BEFORE = 10
FAILED_SEND = -10
FAILED_SENDS_COUNTED = 3
UNDELIVERABLE = -30
UNDELIVERABLES_COUNTED = 2
RECENT_FAILURE_DAYS = 90
# Meta's "Message undeliverable" (the number is not on WhatsApp, or cannot receive): the failures that speak
# about the number itself rather than about us (a template, the 24 h window, a rate limit).
UNDELIVERABLE_ERROR_CODES = frozenset({131026})

WEBSITE_WELL_FORMED = 40
WEBSITE_MALFORMED = 10
EMAIL_CORPORATE = 30
EMAIL_FREE = 10
EMAIL_MATCHES_WEBSITE = 10
SOCIAL_PROFILE = 10
SOCIAL_PROFILES_COUNTED = 2

# Mailboxes anyone opens for free: a business writing from one is less established online.
FREE_EMAIL_DOMAINS = frozenset(
    {
        'gmail.com',
        'googlemail.com',
        'hotmail.com',
        'hotmail.com.ar',
        'outlook.com',
        'outlook.com.ar',
        'live.com',
        'live.com.ar',
        'yahoo.com',
        'yahoo.com.ar',
        'icloud.com',
        'me.com',
        'aol.com',
        'protonmail.com',
        'proton.me',
        'fibertel.com.ar',
        'speedy.com.ar',
        'arnet.com.ar',
        'ciudad.com.ar',
    }
)

_HOST = re.compile(r'^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$')
_EMAIL = re.compile(r'^[^@\s]+@([^@\s]+)$')


@dataclass(frozen=True)
class Reason:
    code: str  # the key of its text: components/texts/leads.py 'leads.reason.<code>'
    points: int  # what it added (negative: took away); 0 for facts that decide alone (opted out, no phone)

    def as_dict(self) -> dict[str, Any]:
        return {'code': self.code, 'points': self.points}


@dataclass(frozen=True)
class Score:
    value: int
    reasons: list[Reason] = field(default_factory=list)

    def reasons_json(self) -> list[dict[str, Any]]:
        return [reason.as_dict() for reason in self.reasons]


@dataclass(frozen=True)
class ContactFacts:
    """What contactability is computed from."""

    phone_e164: str | None
    opted_out: bool = False
    whatsapp_exists: bool | None = None
    delivered_before: bool = False
    recent_failures: int = 0  # failed sends in the last RECENT_FAILURE_DAYS, undeliverables included
    recent_undeliverable: int = 0  # of those, Meta's UNDELIVERABLE_ERROR_CODES
    wrote_to_us: bool = False  # a message of theirs reached one of our numbers: the number is on WhatsApp


@dataclass(frozen=True)
class PresenceFacts:
    """What digital maturity is computed from."""

    website: str = ''
    email: str = ''
    social_profiles: tuple[str, ...] = ()


def _clamp(value: int) -> int:
    return max(0, min(100, value))


def contactability(facts: ContactFacts) -> Score:
    if facts.opted_out:
        return Score(0, [Reason('opted_out', 0)])
    if not facts.phone_e164:
        return Score(0, [Reason('phone_missing', 0)])
    reasons = [Reason('phone_valid', PHONE_VALID)]
    if is_mobile(facts.phone_e164):
        reasons.append(Reason('phone_mobile', PHONE_MOBILE))
    else:
        reasons.append(Reason('phone_fixed', 0))
    if facts.wrote_to_us:
        reasons.append(Reason('wrote_to_us', WHATSAPP_EXISTS))
    elif facts.whatsapp_exists is True:
        reasons.append(Reason('whatsapp_exists', WHATSAPP_EXISTS))
    elif facts.whatsapp_exists is False:
        reasons.append(Reason('whatsapp_missing', WHATSAPP_MISSING))
    else:
        reasons.append(Reason('whatsapp_unverified', 0))
    if facts.delivered_before:
        reasons.append(Reason('delivered_before', DELIVERED_BEFORE))
    other_failures = max(0, facts.recent_failures - facts.recent_undeliverable)
    if other_failures:
        reasons.append(Reason('recent_failures', FAILED_SEND * min(other_failures, FAILED_SENDS_COUNTED)))
    if facts.recent_undeliverable:
        reasons.append(
            Reason('recent_undeliverable', UNDELIVERABLE * min(facts.recent_undeliverable, UNDELIVERABLES_COUNTED))
        )
    value = _clamp(sum(reason.points for reason in reasons))
    if facts.whatsapp_exists is False and not facts.wrote_to_us:
        value = min(value, WHATSAPP_MISSING_CAP)
    return Score(value, reasons)


def website_host(website: str) -> str | None:
    """The host of a well-formed website ('https://www.taller.com.ar/x' -> 'taller.com.ar'), else None. A bare
    'www.taller.com.ar' counts: people write websites without the scheme."""
    text = website.strip()
    if not text or any(ch.isspace() for ch in text):
        return None
    if '://' not in text:
        text = 'http://' + text
    parts = urlsplit(text)
    host = (parts.hostname or '').casefold()
    if parts.scheme not in {'http', 'https'} or not _HOST.match(host):
        return None
    return host.removeprefix('www.')


def email_domain(email: str) -> str | None:
    found = _EMAIL.match(email.strip().casefold())
    if not found or not _HOST.match(found.group(1)):
        return None
    return found.group(1)


def digital_maturity(facts: PresenceFacts) -> Score:
    reasons: list[Reason] = []
    host = website_host(facts.website)
    if host:
        reasons.append(Reason('website', WEBSITE_WELL_FORMED))
    elif facts.website.strip():
        reasons.append(Reason('website_malformed', WEBSITE_MALFORMED))
    else:
        reasons.append(Reason('website_missing', 0))
    domain = email_domain(facts.email)
    if domain is None:
        reasons.append(Reason('email_missing', 0))
    elif domain in FREE_EMAIL_DOMAINS:
        reasons.append(Reason('email_free', EMAIL_FREE))
    else:
        reasons.append(Reason('email_corporate', EMAIL_CORPORATE))
        if host and (domain == host or domain.endswith('.' + host) or host.endswith('.' + domain)):
            reasons.append(Reason('email_matches_website', EMAIL_MATCHES_WEBSITE))
    profiles = [profile for profile in facts.social_profiles if profile.strip()]
    if profiles:
        reasons.append(Reason('social_profiles', SOCIAL_PROFILE * min(len(profiles), SOCIAL_PROFILES_COUNTED)))
    return Score(_clamp(sum(reason.points for reason in reasons)), reasons)


def band_of(score: int) -> str:
    """The score bands of the filters and of the campaigns' response rates: 'low' < 40 <= 'mid' < 70 <= 'high'."""
    if score >= SEND_GATE_MINIMUM:
        return 'high'
    return 'mid' if score >= 40 else 'low'


BANDS: dict[str, tuple[int, int]] = {'low': (0, 39), 'mid': (40, 69), 'high': (SEND_GATE_MINIMUM, 100)}
