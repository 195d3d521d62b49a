"""The scoring table of docs/leads.md, reason by reason (SPEC L1): each fact moves the score by what the table
says, and the reasons name it. services/leads/scoring.py is the one place the weights live."""

from __future__ import annotations

import pytest

from services.leads import scoring
from services.leads.scoring import ContactFacts, PresenceFacts, band_of, contactability, digital_maturity

MOBILE = '+5491144445555'


@pytest.mark.parametrize(
    ('facts', 'expected', 'codes'),
    [
        (ContactFacts(phone_e164=None), 0, ['phone_missing']),
        (ContactFacts(phone_e164=MOBILE), 60, ['phone_valid', 'phone_mobile', 'whatsapp_unverified']),
        (ContactFacts(phone_e164=MOBILE, whatsapp_exists=True), 90, ['phone_valid', 'phone_mobile', 'whatsapp_exists']),
        (
            ContactFacts(phone_e164=MOBILE, whatsapp_exists=True, delivered_before=True),
            100,
            ['phone_valid', 'phone_mobile', 'whatsapp_exists', 'delivered_before'],
        ),
        (
            ContactFacts(phone_e164=MOBILE, whatsapp_exists=False),
            20,
            ['phone_valid', 'phone_mobile', 'whatsapp_missing'],
        ),
        (
            ContactFacts(phone_e164=MOBILE, whatsapp_exists=True, recent_failures=1),
            80,
            ['phone_valid', 'phone_mobile', 'whatsapp_exists', 'recent_failures'],
        ),
        # At most three ordinary failures count.
        (ContactFacts(phone_e164=MOBILE, whatsapp_exists=True, recent_failures=9), 60, None),
        # Meta's "undeliverable" weighs more, at most two count.
        (
            ContactFacts(phone_e164=MOBILE, whatsapp_exists=True, recent_failures=1, recent_undeliverable=1),
            60,
            ['phone_valid', 'phone_mobile', 'whatsapp_exists', 'recent_undeliverable'],
        ),
        (ContactFacts(phone_e164=MOBILE, whatsapp_exists=True, recent_failures=5, recent_undeliverable=5), 30, None),
        (ContactFacts(phone_e164=MOBILE, whatsapp_exists=True, opted_out=True), 0, ['opted_out']),
        # A customer who wrote to us is on WhatsApp: their message is the proof, unchecked or not.
        (ContactFacts(phone_e164=MOBILE, wrote_to_us=True), 90, ['phone_valid', 'phone_mobile', 'wrote_to_us']),
        (
            ContactFacts(phone_e164=MOBILE, whatsapp_exists=False, wrote_to_us=True),
            90,
            ['phone_valid', 'phone_mobile', 'wrote_to_us'],
        ),
        (ContactFacts(phone_e164=MOBILE, wrote_to_us=True, opted_out=True), 0, ['opted_out']),
    ],
)
def test_contactability_moves_as_the_table_says(facts: ContactFacts, expected: int, codes: list[str] | None) -> None:
    score = contactability(facts)
    assert score.value == expected
    if codes is not None:
        assert [reason.code for reason in score.reasons] == codes
    if facts.phone_e164 and not facts.opted_out and facts.whatsapp_exists is not False:
        assert score.value == max(0, min(100, sum(reason.points for reason in score.reasons)))


def test_a_fixed_line_is_valid_but_scores_less_than_a_mobile() -> None:
    fixed = contactability(ContactFacts(phone_e164='+12025550143'))  # US numbers may be fixed or mobile
    mobile = contactability(ContactFacts(phone_e164=MOBILE))
    assert 'phone_valid' in [reason.code for reason in fixed.reasons]
    assert fixed.value <= mobile.value


def test_an_unverified_mobile_stays_below_the_send_gate_and_a_checked_one_passes() -> None:
    assert contactability(ContactFacts(phone_e164=MOBILE)).value < scoring.SEND_GATE_MINIMUM
    assert contactability(ContactFacts(phone_e164=MOBILE, whatsapp_exists=True)).value >= scoring.SEND_GATE_MINIMUM


@pytest.mark.parametrize(
    ('facts', 'expected', 'codes'),
    [
        (PresenceFacts(), 0, ['website_missing', 'email_missing']),
        (PresenceFacts(website='https://www.tallerperez.com.ar'), 40, ['website', 'email_missing']),
        (PresenceFacts(website='www.tallerperez.com.ar'), 40, ['website', 'email_missing']),
        (PresenceFacts(website='taller perez punto com'), 10, ['website_malformed', 'email_missing']),
        (PresenceFacts(email='juan@gmail.com'), 10, ['website_missing', 'email_free']),
        (PresenceFacts(email='ventas@tallerperez.com.ar'), 30, ['website_missing', 'email_corporate']),
        (
            PresenceFacts(website='https://tallerperez.com.ar', email='ventas@tallerperez.com.ar'),
            80,
            ['website', 'email_corporate', 'email_matches_website'],
        ),
        (
            PresenceFacts(social_profiles=('instagram.com/taller', 'facebook.com/taller', 'linkedin.com/taller')),
            20,
            ['website_missing', 'email_missing', 'social_profiles'],
        ),
        (PresenceFacts(email='no es un mail'), 0, ['website_missing', 'email_missing']),
    ],
)
def test_digital_maturity_moves_as_the_table_says(facts: PresenceFacts, expected: int, codes: list[str]) -> None:
    score = digital_maturity(facts)
    assert (score.value, [reason.code for reason in score.reasons]) == (expected, codes)


@pytest.mark.parametrize(
    ('score', 'band'), [(0, 'low'), (39, 'low'), (40, 'mid'), (69, 'mid'), (70, 'high'), (100, 'high')]
)
def test_score_bands(score: int, band: str) -> None:
    assert band_of(score) == band
    low, high = scoring.BANDS[band]
    assert low <= score <= high
