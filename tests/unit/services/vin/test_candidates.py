"""VIN candidates in noisy OCR text: split tokens joined, only I/O/Q mapped, look-alikes never repaired."""

from __future__ import annotations

from services.vin.candidates import extract_candidates, normalize_token, parse_typed_vin
from services.vin.validation import VinStatus


def valid(lines: list[str]) -> list[str]:
    return [candidate.vin for candidate in extract_candidates(lines) if candidate.check.valid]


def test_a_vin_split_by_the_ocr_is_joined_back() -> None:
    assert valid(['VIN: 1HGCM 8263 3A004352']) == ['1HGCM82633A004352']
    assert valid(['9BWAB45U5 FP012345']) == ['9BWAB45U5FP012345']


def test_only_i_o_q_are_mapped_to_1_0_0() -> None:
    assert valid(['1HGCM8Z633AOO4352']) == []  # Z for 2 is not mapped: the check digit then fails
    assert valid(['IHGCM82633AOO4352']) == ['1HGCM82633A004352']
    assert valid(['1HGCM82633AQ04352']) == ['1HGCM82633A004352']


def test_look_alikes_are_rejected_not_repaired() -> None:
    # B for 8, Z for 2, D for 0, G for 6: each breaks the check digit of a North-American VIN, and no
    # substitution is tried to make it pass.
    for misread in ('1HGCMB2633A004352', '5YJ3E1EAZKF317000', '1HGCM82633AD04352', '1HGCM82G33A004352'):
        candidates = extract_candidates([misread])
        assert [c.vin for c in candidates] == [misread]
        assert candidates[0].check.status == VinStatus.NONE


def test_words_of_the_label_are_not_glued_into_a_vin() -> None:
    # "FABRICADO EN: 11/2014" would be FABR1CAD0EN112014: 17 characters, a valid-looking non-NA structure.
    assert extract_candidates(['FABRICADO EN: 11/2014 PESO BRUTO: 1480 kg']) == []
    assert extract_candidates(['FABRICADOEN:11/2014']) == []


def test_a_caption_glued_to_the_vin_is_dropped() -> None:
    assert valid(['VIN:9BWAB45U5FP012345.']) == ['9BWAB45U5FP012345']
    assert valid(['V1N9BWAB45U5FP012345']) == ['9BWAB45U5FP012345']
    assert valid(['CHASIS N° 9BWAB45U5FP012345']) == ['9BWAB45U5FP012345']


def test_wrong_lengths_are_not_vins() -> None:
    assert extract_candidates(['1HGCM82633A00435']) == []  # 16
    assert valid(['1HGCM82633A0043521']) == []  # 18 characters, no caption to drop
    assert valid(['1HGCM 82633A0043521']) == []  # pieces adding up to 18 are not cut to fit


def test_lower_case_letters_drawn_like_capitals_are_read_as_capitals_others_are_not() -> None:
    assert normalize_token('wvwzzz1kz6w000001') is None  # k is not the shape of K
    assert normalize_token('9bwab45u5fp012345') is None
    assert normalize_token('WVWZZZ1KZ6W0o0001') == 'WVWZZZ1KZ6W000001'


def test_valid_candidates_come_first_in_reading_order() -> None:
    lines = ['1HGCMB2633A004352', 'otro: 5YJ3E1EA2KF317000', '1HGCM82633A004352']

    assert [c.vin for c in extract_candidates(lines)][:2] == ['5YJ3E1EA2KF317000', '1HGCM82633A004352']


def test_a_typed_vin_accepts_spaces_dashes_and_lower_case() -> None:
    assert parse_typed_vin(' 1hgcm-82633-a004352 ').vin == '1HGCM82633A004352'
    assert parse_typed_vin('1hgcm82633ao04352').status == VinStatus.VERIFIED
    assert parse_typed_vin('1HGCM82633A004353').status == VinStatus.NONE
