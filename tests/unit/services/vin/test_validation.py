"""What makes 17 characters a VIN: check digit, model year (both cycles), North America or not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.vin.validation import (
    VinStatus,
    check_digit,
    is_north_american,
    model_year,
    validate_vin,
    with_check_digit,
)


@pytest.mark.parametrize(
    ('vin', 'digit'),
    [
        ('1HGCM82633A004352', '3'),  # the 49 CFR 565 worked example family (Honda Accord 2003)
        ('5YJ3E1EA2KF317000', '2'),  # Tesla Model 3 2019
        ('11111111111111111', '1'),
        ('1M8GDM9AXKP042788', 'X'),  # remainder 10 is written X
    ],
)
def test_check_digit_of_known_vins(vin: str, digit: str) -> None:
    assert check_digit(vin) == digit


def test_check_digit_refuses_what_is_no_vin() -> None:
    with pytest.raises(ValueError, match='17 VIN characters'):
        check_digit('1HGCM82633A00435')
    with pytest.raises(ValueError, match='17 VIN characters'):
        check_digit('1HGCM82633A00435I')


def test_a_north_american_vin_with_a_matching_check_digit_is_verified() -> None:
    check = validate_vin('1HGCM82633A004352')

    assert (check.status, check.north_american, check.check_digit_ok) == (VinStatus.VERIFIED, True, True)


def test_one_misread_character_breaks_the_north_american_check_digit() -> None:
    # 8 read as B at position 6: the look-alike the OCR makes most; it must not pass as a VIN.
    check = validate_vin('1HGCMB2633A004352')

    assert check.status == VinStatus.NONE
    assert 'check digit' in check.reason


def test_a_non_north_american_vin_is_valid_but_unverifiable_whatever_its_check_digit() -> None:
    european = validate_vin('WVWZZZ1KZ6W000001')  # 'Z' at position 9: Europe uses no check digit

    assert (european.status, european.north_american, european.check_digit_ok) == (VinStatus.UNVERIFIED, False, False)
    assert validate_vin(with_check_digit('9BWAB45U0FP012345')).status == VinStatus.UNVERIFIED


@pytest.mark.parametrize(
    ('vin', 'reason'),
    [
        ('1HGCM82633A00435', '16 characters'),
        ('1HGCM82633A0043521', '18 characters'),
        ('1HGCM8263IA004352', 'alphabet'),  # I is never in a VIN
        ('9BWAB45U5FP01234A', 'serial'),  # ISO 3779: the last four are digits
        ('12345678901234567', 'letter'),
    ],
)
def test_structure_errors_are_rejected_with_a_reason(vin: str, reason: str) -> None:
    check = validate_vin(vin)

    assert check.status == VinStatus.NONE
    assert reason in check.reason


def test_position_10_must_be_a_year_code_for_ocr_but_not_for_a_typed_european_vin() -> None:
    vin = 'WVWZZZ1KZU6000001'  # U at position 10 is no model-year code

    assert validate_vin(vin).status == VinStatus.NONE
    assert validate_vin(vin, strict_year=False).status == VinStatus.UNVERIFIED


def test_north_american_model_year_uses_position_7_to_choose_the_cycle() -> None:
    # Same year code 'E'; position 7 digit → 1980-2009 cycle, letter → 2010-2039.
    assert model_year(with_check_digit('1FTFW15E0EK000001')) == 1984  # position 7 '5'
    assert model_year(with_check_digit('1FTFW1EE0EK000001')) == 2014  # position 7 'E'
    assert model_year('1HGCM82633A004352') == 2003
    assert model_year('5YJ3E1EA2KF317000') == 2019


def test_elsewhere_the_newest_year_not_after_next_year_is_taken() -> None:
    today = datetime(2026, 6, 1, tzinfo=UTC)

    assert model_year('9BWAB05U0CP123456', today=today) == 2012  # a digit at 7, yet 2012, not 1982
    assert model_year('9BWAB05U0YP123456', today=today) == 2000  # 2030 would be in the future
    assert model_year('9BWAB05U0UP123456', today=today) is None  # U is no year code


def test_north_america_by_wmi() -> None:
    assert all(is_north_american(vin) for vin in ('1HG', '2T1', '3VW', '4T1', '5YJ', '7SA'))
    assert not any(is_north_american(vin) for vin in ('9BW', '8AP', 'WVW', 'JTD', 'KMH', 'LSV', '7A1'))
