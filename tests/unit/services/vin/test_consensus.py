"""The settle rule: which VIN several OCR reads support — and every way it refuses to choose (V1).

The reads are built by hand so that each test shows one rule: a disagreement between look-alikes, a raw "I",
an unsure character, the check digit choosing (never supplying) a character, the confirmation a VIN without
check digit needs.
"""

from __future__ import annotations

from services.vin.consensus import (
    CHARS_KIND,
    DETECT_KIND,
    LINE_KIND,
    SECOND_CHARS_KIND,
    SECOND_LINE_KIND,
    UNREAD,
    Reading,
    decide,
)
from services.vin.validation import VinStatus, check_digit, validate_vin

NA_VIN = '1FADTJTY3E8239802'  # J at position 6; with a 1 there the check digit is the same (J and 1 are both 1)
NA_WITH_ONE = NA_VIN[:5] + '1' + NA_VIN[6:]
BR_VIN = '9BWAB45U5FP012345'  # Brazilian: no check digit applies (unverified)
# Line reads of the first and of the second recognizer (two kinds of read; preparations of one are one kind).
ONE, TWO = LINE_KIND, SECOND_LINE_KIND


def line(text: str, kind: str = LINE_KIND, *, raw: str = '', confidences: tuple[float, ...] = ()) -> Reading:
    return Reading(text, f'line1-{kind}', kind, raw=raw, confidences=confidences)


def chars(text: str, kind: str = CHARS_KIND, *, crop: str = '') -> Reading:
    return Reading(text, f'{crop or "line1"}-{kind}', kind, confidences=(0.99,) * 17, crop=crop)


def test_the_fixture_vins_are_what_the_tests_say() -> None:
    assert validate_vin(NA_VIN).status == VinStatus.VERIFIED
    assert validate_vin(NA_WITH_ONE).status == VinStatus.VERIFIED  # the J/1 trap: both pass
    assert validate_vin(BR_VIN).status == VinStatus.UNVERIFIED


def test_agreeing_reads_of_a_north_american_vin_settle_it_as_verified() -> None:
    decision = decide([line(NA_VIN, ONE), line(NA_VIN, TWO)])

    assert (decision.vin, decision.check.status if decision.check else None) == (NA_VIN, VinStatus.VERIFIED)


def test_one_read_and_a_check_digit_is_not_enough() -> None:
    decision = decide([line(NA_VIN)])

    assert decision.vin is None
    assert 'one read' in decision.reason


def test_j_against_1_is_refused_even_though_the_check_digit_passes() -> None:
    decision = decide([line(NA_VIN, ONE), line(NA_VIN, TWO), line(NA_WITH_ONE, TWO)])

    assert decision.vin is None
    assert '2 valid VINs' in decision.reason


def test_a_raw_i_stands_for_1_or_j_and_alone_decides_nothing() -> None:
    # The open-alphabet read saw "I" (mapped to 1) where the VIN has J: it must not count as a vote for 1.
    raw_i = NA_VIN[:5] + 'I' + NA_VIN[6:]
    only_raw = decide([line(NA_WITH_ONE, ONE, raw=raw_i), line(NA_WITH_ONE, TWO, raw=raw_i)])
    assert only_raw.vin is None

    # A read forced to the VIN alphabet that says J is compatible with the raw I: J is taken.
    with_j = decide([line(NA_WITH_ONE, ONE, raw=raw_i), line(NA_VIN, TWO), line(NA_VIN, ONE)])
    assert with_j.vin == NA_VIN


def test_an_unsure_character_brings_its_look_alikes_in() -> None:
    # Both reads say 1 at position 6, but neither is sure: 1 may be J, and J gives a valid VIN too.
    unsure = tuple(0.4 if index == 5 else 0.99 for index in range(17))
    decision = decide([line(NA_WITH_ONE, ONE, confidences=unsure), line(NA_WITH_ONE, TWO, confidences=unsure)])

    assert decision.vin is None


def test_the_check_digit_chooses_between_characters_that_were_read() -> None:
    # S for 5 at position 1 gives 'SFN…', no North-American VIN and no known maker: only 5 makes a valid VIN.
    vin = '5FNNEP1L4TY901092'
    misread = 'S' + vin[1:]
    decision = decide([line(vin, ONE), line(misread, TWO), line(vin, TWO)])

    assert decision.vin == vin


def test_the_check_digit_never_supplies_a_character_no_read_saw() -> None:
    # Every read says 8 at position 11, unsure; B (a look-alike) would make the check digit pass, 8 does not.
    body = '1FADTJTY?E8239802'
    with_b = body.replace('?', '0')[:10] + 'B' + body[11:]
    with_b = with_b[:8] + check_digit(with_b) + with_b[9:]
    with_8 = with_b[:10] + '8' + with_b[11:]
    assert validate_vin(with_b).valid and not validate_vin(with_8).valid
    unsure = tuple(0.3 if index == 10 else 0.99 for index in range(17))

    decision = decide([line(with_8, ONE, confidences=unsure), line(with_8, TWO, confidences=unsure)])

    assert decision.vin is None  # not with_b, although only with_b passes the check digit


def test_a_vin_without_check_digit_needs_agreement_of_different_kinds_of_read() -> None:
    same_kind = decide([line(BR_VIN, ONE), line(BR_VIN, ONE), line(BR_VIN, ONE)])
    assert same_kind.vin is None

    kinds = decide([line(BR_VIN, ONE), line(BR_VIN, TWO), line(BR_VIN, ONE)])
    assert kinds.vin == BR_VIN
    # Two recognizers trained apart read it alike: verified, though no check digit applies (issue 17's rule).
    assert kinds.check is not None and kinds.check.status == VinStatus.VERIFIED


def test_a_vin_without_check_digit_is_refused_on_any_disagreement_between_look_alikes() -> None:
    misread = BR_VIN[:8] + 'S' + BR_VIN[9:]  # 5→S at position 9
    assert validate_vin(misread).valid

    decision = decide([line(BR_VIN, ONE), line(BR_VIN, TWO), line(BR_VIN, ONE), line(misread, TWO)])

    assert decision.vin is None


def test_the_character_by_character_read_must_confirm_a_vin_without_check_digit() -> None:
    lines = [line(BR_VIN, ONE), line(BR_VIN, TWO), line(BR_VIN, ONE)]

    assert decide(lines, confirming_kind=CHARS_KIND).vin is None
    assert decide([*lines, chars(BR_VIN)], confirming_kind=CHARS_KIND).vin == BR_VIN
    # A position the character read could not read is no confirmation of it.
    unread = BR_VIN[:4] + UNREAD + BR_VIN[5:]
    assert decide([*lines, chars(unread)], confirming_kind=CHARS_KIND).vin is None


def test_a_character_read_that_disagrees_with_the_line_reads_stops_them() -> None:
    # The line reads' context turns "W57" into "WS7" in every line read; read alone, the 5 is a 5.
    vin = '8AW57NW05N9624108'
    context_error = vin[:3] + 'S' + vin[4:]
    lines = [line(context_error, ONE), line(context_error, TWO), line(context_error, ONE)]

    assert decide([*lines, chars(vin)], confirming_kind=CHARS_KIND).vin is None


def test_position_rules_reject_a_reading_but_do_not_outvote_the_reads() -> None:
    # Position 10 "U" is no model-year code; most reads saw U, so V is not taken on the strength of the rule.
    with_v = BR_VIN
    with_u = BR_VIN[:9] + 'U' + BR_VIN[10:]
    assert not validate_vin(with_u).valid
    reads = [line(with_u, ONE), line(with_u, TWO), line(with_u, ONE), line(with_v, TWO)]

    assert decide(reads).vin is None


def test_two_different_vins_in_one_photo_choose_neither() -> None:
    other = '1HGCM82633A004352'
    decision = decide([line(NA_VIN, ONE), line(NA_VIN, TWO), line(other, ONE), line(other, TWO)])

    assert decision.vin is None
    assert decision.reason == 'several different VINs read'


def test_a_barcode_settles_and_page_reads_only_back_a_check_digit() -> None:
    barcode = Reading(BR_VIN, 'barcode', 'barcode')
    assert decide([barcode]).source == 'barcode'

    # Whole-page reads (lower resolution, no character confidences) never settle a VIN without check digit…
    page_only = [
        Reading(BR_VIN, 'page-otsu', 'page'),
        Reading(BR_VIN, 'page-gray', 'page'),
        Reading(BR_VIN, 'page-local', 'page'),
    ]
    assert decide(page_only).vin is None
    assert [candidate['vin'] for candidate in decide(page_only).candidates] == [BR_VIN]  # kept for the agent
    # …but two of them and a North-American check digit do; one does not.
    assert decide([Reading(NA_VIN, 'page-otsu', 'page'), Reading(NA_VIN, 'page-gray', 'page')]).vin == NA_VIN
    assert decide([Reading(NA_VIN, 'page-otsu', 'page')]).vin is None


# --- pipeline version 3: two recognizers -------------------------------------------------------------------


def test_preparations_of_one_recognizer_are_one_kind_of_read() -> None:
    # Five preparations of one crop (gray, Otsu, sizes, alphabets) read by one recognizer share its context
    # errors: measured, all five read "WBALSSYG…" where the label says "WBALS5YG…". They confirm nothing alone.
    context_error = 'WBALSSYG8KT372240'
    assert validate_vin(context_error).valid

    assert decide([line(context_error) for _ in range(5)]).vin is None
    assert 'of 1 kinds' in decide([line(context_error) for _ in range(5)]).reason
    # The second recognizer (or the first one's character-by-character read) agreeing settles it.
    assert decide([*(line(BR_VIN) for _ in range(3)), line(BR_VIN, TWO)]).vin == BR_VIN
    assert decide([*(line(BR_VIN) for _ in range(3)), chars(BR_VIN)]).vin == BR_VIN
    # …and the second recognizer reading the 5 stops the first one's S.
    assert decide([*(line(context_error) for _ in range(5)), line('WBALS5YG8KT372240', TWO)]).vin is None


def test_the_two_recognizers_lone_glyph_reads_disagreeing_leave_the_choice_to_the_line_reads() -> None:
    # Read alone, English Tesseract takes a bold X for a 4 (in both preparations); Spanish reads X, as every
    # line read does. Neither lone-glyph read is an observation the line reads must yield to.
    vin = '8A1XACXK6F4685027'
    x_as_4 = vin[:3] + '4' + vin[4:]
    assert validate_vin(x_as_4).valid
    lines = [line(vin), line(vin), line(vin, TWO), line(vin, TWO)]

    assert decide([*lines, chars(x_as_4), chars(x_as_4)]).vin is None  # one model's lone glyphs: a real doubt
    assert (
        decide([*lines, chars(x_as_4), chars(x_as_4), chars(vin, SECOND_CHARS_KIND), chars(vin, SECOND_CHARS_KIND)]).vin
        == vin
    )


def test_silenced_lone_glyph_reads_still_need_two_line_recognizers_in_agreement() -> None:
    vin = '8A1XACXK6F4685027'
    x_as_4 = vin[:3] + '4' + vin[4:]
    lone = [chars(x_as_4), chars(vin, SECOND_CHARS_KIND)]

    # The second line recognizer seeing the 4 too: a real doubt between two valid VINs.
    assert decide([line(vin), line(vin), line(x_as_4, TWO), *lone]).vin is None
    # Only one line recognizer left at that position: not confirmed by two kinds of read.
    assert decide([line(vin), line(vin), line(vin), *lone]).vin is None


def test_lone_glyph_reads_of_two_different_crops_are_a_real_doubt() -> None:
    # Two crops of the same VIN (two page reads located it) read differently: not one model's glyph error.
    vin = '8A1XACXK6F4685027'
    x_as_4 = vin[:3] + '4' + vin[4:]
    lines = [line(vin), line(vin), line(vin, TWO), line(vin, TWO)]

    assert decide([*lines, chars(x_as_4, crop='line1'), chars(vin, SECOND_CHARS_KIND, crop='line2')]).vin is None
    assert decide([*lines, chars(x_as_4, crop='line1'), chars(vin, SECOND_CHARS_KIND, crop='line1')]).vin == vin


def test_the_check_digit_does_not_choose_a_north_american_vin_over_another_digit_at_position_1() -> None:
    # A crop that cut the 8 of a Peugeot's VIN in half read "3ADTF…" (Mexico); another crop read the 8. With a
    # raw O at position 6 (0 or D), "3ADTFD…" passes the check digit: it must not be taken.
    truth = '8ADTF9HCXBK177565'
    clipped = '3ADTF' + 'D' + truth[6:]
    assert validate_vin(clipped).status == VinStatus.VERIFIED
    raw_o = clipped[:5] + 'O' + clipped[6:]
    mapped = clipped[:5] + '0' + clipped[6:]  # the raw O mapped to 0: "0 or D" (consensus.py)
    reads = [line(truth), line(truth, TWO), line(mapped, raw=raw_o), line(mapped, TWO, raw=raw_o)]

    assert decide(reads).vin is None
    # S for 5 at position 1 (a look-alike *letter*: no maker) is still settled by the check digit.
    vin = '5FNNEP1L4TY901092'
    assert decide([line(vin), line('S' + vin[1:], TWO), line(vin, TWO)]).vin == vin


# --- the detector's reads (pipeline version 4, issue 17): RapidOCR over the whole photo ---

CN_VIN = 'LMGKT1G80N1145942'  # stamped on a chassis in China: no check digit required, but its maker fills it in
CN_WRONG_CHECK = 'LMGKT1G81N1145942'  # the same with position 9 off: structurally valid, check digit fails


def detected(text: str, size: int = 1280) -> Reading:
    return Reading(text, f'detect{size}', DETECT_KIND)


def test_two_detector_reads_of_a_foreign_vin_whose_check_digit_passes_give_it_unverified() -> None:
    # Tesseract read nothing usable on the stamped metal; the detector read it twice, the same.
    decision = decide([detected(CN_VIN), detected(CN_VIN, 960)])
    assert (decision.vin, decision.check and decision.check.status) == (CN_VIN, VinStatus.UNVERIFIED)


def test_one_detector_read_is_not_enough() -> None:
    assert decide([detected(CN_VIN)]).vin is None


def test_detector_reads_that_disagree_choose_nothing() -> None:
    other = CN_VIN[:12] + '5' + CN_VIN[13:]
    assert decide([detected(CN_VIN), detected(CN_VIN, 960), detected(other, 1600)]).vin is None


def test_without_a_passing_check_digit_the_detector_alone_cannot_take_a_foreign_vin() -> None:
    assert validate_vin(CN_WRONG_CHECK).status == VinStatus.UNVERIFIED
    assert decide([detected(CN_WRONG_CHECK), detected(CN_WRONG_CHECK, 960)]).vin is None


def test_another_recognizers_different_vin_still_refuses_the_photo() -> None:
    other = '9BWAB45U5FP012345'
    readings = [detected(CN_VIN), detected(CN_VIN, 960), line(other), line(other, TWO), chars(other)]
    decision = decide(readings)
    assert (decision.vin, decision.reason) == (None, 'several different VINs read')


def test_page_reads_never_make_a_foreign_vin_verified() -> None:
    # Page reads are one network's: with a line read they are three reads, but not of two independent kinds.
    page = Reading(BR_VIN, 'page-otsu', 'page')
    assert decide([page, Reading(BR_VIN, 'page-gray', 'page'), line(BR_VIN)]).vin is None


def test_another_recognizers_valid_reading_at_the_same_place_refuses_the_detectors_vin() -> None:
    rival = CN_VIN[:16] + ('3' if CN_VIN[16] != '3' else '4')  # the last digit read otherwise by Tesseract
    assert validate_vin(rival).valid
    assert decide([detected(CN_VIN), detected(CN_VIN, 960), line(rival)]).vin is None
