"""Quote arithmetic to the cent (S3): examples worked out by hand, and properties over any valid quote."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.errors import InvalidInput
from services.sales.money import format_ars, format_rate, parse_decimal
from services.sales.totals import LineInput, QuoteTotals, compute_totals

D = Decimal


def test_one_line_at_21_percent() -> None:
    totals = compute_totals([LineInput(quantity=2, unit_price=D('24350.00'))])

    assert (totals.net_total, totals.iva_total, totals.total) == (D('48700.00'), D('10227.00'), D('58927.00'))


def test_line_discounts_percent_then_amount_and_iva_per_rate() -> None:
    totals = compute_totals(
        [
            LineInput(quantity=3, unit_price=D('1234.57')),  # 3703.71
            # 999.99 − 5 % (49.9995 → 50.00) − 10.00 = 939.99
            LineInput(
                quantity=1,
                unit_price=D('999.99'),
                iva_rate=D('10.50'),
                discount_percent=D('5'),
                discount_amount=D('10.00'),
            ),
        ]
    )

    assert [line.net for line in totals.lines] == [D('3703.71'), D('939.99')]
    # 3703.71 × 21 % = 777.7791 → 777.78; 939.99 × 10.5 % = 98.69895 → 98.70
    assert [(bucket.rate, bucket.base, bucket.amount) for bucket in totals.iva] == [
        (D('21.00'), D('3703.71'), D('777.78')),
        (D('10.50'), D('939.99'), D('98.70')),
    ]
    assert totals.total == D('5520.18')


def test_quote_discount_is_shared_by_the_lines_so_each_rate_is_taxed_on_what_is_paid() -> None:
    totals = compute_totals(
        [
            LineInput(quantity=3, unit_price=D('1234.57')),
            LineInput(quantity=1, unit_price=D('999.99'), iva_rate=D('10.50'), discount_percent=D('5')),
        ],
        discount_percent=D('3'),
    )

    # 3 % of 4653.70 = 139.611 → 139.61, shared 111.11 / 28.50 in proportion to 3703.71 / 949.99
    assert totals.quote_discount == D('139.61')
    assert [line.quote_discount for line in totals.lines] == [D('111.11'), D('28.50')]
    assert [(bucket.base, bucket.amount) for bucket in totals.iva] == [
        (D('3592.60'), D('754.45')),
        (D('921.49'), D('96.76')),
    ]
    assert (totals.net_total, totals.iva_total, totals.total) == (D('4514.09'), D('851.21'), D('5365.30'))


def test_half_cents_round_up_like_an_invoice_not_to_even() -> None:
    # 0.50 × 21 % = 0.105 → 0.11 (banker's rounding would say 0.10); 2.50 × 21 % = 0.525 → 0.53
    assert compute_totals([LineInput(quantity=1, unit_price=D('0.50'))]).iva_total == D('0.11')
    assert compute_totals([LineInput(quantity=1, unit_price=D('2.50'))]).iva_total == D('0.53')


def test_a_fixed_amount_quote_discount() -> None:
    totals = compute_totals(
        [
            LineInput(quantity=1, unit_price=D('100.00')),
            LineInput(quantity=1, unit_price=D('100.00'), iva_rate=D('10.50')),
        ],
        discount_amount=D('0.01'),
    )

    # One cent cannot be halved: it goes to the higher rate (tie on net), whatever the line order.
    assert [bucket.base for bucket in totals.iva] == [D('99.99'), D('100.00')]
    # 199.99 + 21.00 (20.9979) + 10.50
    assert totals.total == D('231.49')
    reversed_order = compute_totals(
        list(
            reversed(
                [
                    LineInput(quantity=1, unit_price=D('100.00')),
                    LineInput(quantity=1, unit_price=D('100.00'), iva_rate=D('10.50')),
                ]
            )
        ),
        discount_amount=D('0.01'),
    )
    assert reversed_order.iva == totals.iva


@pytest.mark.parametrize(
    ('lines', 'kwargs', 'message'),
    [
        ([LineInput(quantity=1, unit_price=D('10.00'), discount_amount=D('10.01'))], {}, 'larger than the line'),
        ([LineInput(quantity=1, unit_price=D('10.00'))], {'discount_amount': D('10.01')}, 'larger than the lines'),
        ([LineInput(quantity=0, unit_price=D('10.00'))], {}, 'quantity'),
        ([LineInput(quantity=1, unit_price=D('-1.00'))], {}, 'negative'),
        ([LineInput(quantity=1, unit_price=D('1.005'))], {}, '2 decimals'),
        ([LineInput(quantity=1, unit_price=D('1.00'), discount_percent=D('101'))], {}, 'between 0 and 100'),
        ([LineInput(quantity=1, unit_price=D('1.00'))], {'discount_percent': D('-5')}, 'between 0 and 100'),
    ],
)
def test_bad_input_is_refused_with_a_reason(lines: list[LineInput], kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        compute_totals(lines, **kwargs)


def test_argentine_formatting_and_parsing() -> None:
    assert format_ars(D('1234567.891')) == '$ 1.234.567,89'
    assert format_ars(D('-0.5')) == '-$ 0,50'
    assert format_rate(D('10.50')) == '10,5 %'
    assert format_rate(D('21.00')) == '21 %'
    assert parse_decimal('1.234,50', what='precio') == D('1234.50')
    assert parse_decimal('1234.5', what='precio') == D('1234.50')
    with pytest.raises(InvalidInput, match='not a number'):
        parse_decimal('doce', what='precio')


# --- properties -------------------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=50_000_000).map(lambda value: D(value).scaleb(-2))
rates = st.sampled_from([D('0.00'), D('2.50'), D('5.00'), D('10.50'), D('21.00'), D('27.00')])
percents = st.integers(min_value=0, max_value=10_000).map(lambda value: D(value).scaleb(-2))
lines_strategy = st.lists(
    st.builds(
        LineInput,
        quantity=st.integers(min_value=1, max_value=500),
        unit_price=cents,
        iva_rate=rates,
        discount_percent=percents,
        discount_amount=cents,
    ),
    min_size=1,
    max_size=12,
)


def _totals_or_none(lines: list[LineInput], percent: D, amount: D) -> QuoteTotals | None:
    try:
        return compute_totals(lines, discount_percent=percent, discount_amount=amount)
    except InvalidInput:
        return None


@settings(max_examples=400, deadline=None)
@given(lines=lines_strategy, percent=percents, amount=cents)
def test_every_figure_adds_up_and_nothing_is_negative(lines: list[LineInput], percent: D, amount: D) -> None:
    totals = _totals_or_none(lines, percent, amount)
    if totals is None:
        return  # a discount larger than what it discounts: refused, checked below
    assert sum(line.net for line in totals.lines) == totals.subtotal
    assert sum(line.quote_discount for line in totals.lines) == totals.quote_discount
    assert sum(line.taxable for line in totals.lines) == totals.net_total
    assert sum(bucket.base for bucket in totals.iva) == totals.net_total
    assert sum(bucket.amount for bucket in totals.iva) == totals.iva_total
    assert totals.subtotal - totals.quote_discount + totals.iva_total == totals.total
    figures = [
        totals.subtotal,
        totals.net_total,
        totals.iva_total,
        totals.total,
        *(value for line in totals.lines for value in (line.net, line.taxable, line.quote_discount)),
    ]
    assert all(value >= 0 for value in figures)
    assert all(value == value.quantize(D('0.01')) for value in figures)
    for bucket in totals.iva:  # each IVA amount is its base × rate, within half a cent
        assert abs(bucket.amount - bucket.base * bucket.rate / 100) <= D('0.005')


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, percent=percents, amount=cents, data=st.data())
def test_rounding_is_stable_whatever_the_order_of_the_lines(
    lines: list[LineInput], percent: D, amount: D, data: st.DataObject
) -> None:
    totals = _totals_or_none(lines, percent, amount)
    shuffled = data.draw(st.permutations(lines))
    again = _totals_or_none(list(shuffled), percent, amount)
    if totals is None:
        assert again is None
        return
    assert again is not None
    assert (again.net_total, again.iva, again.iva_total, again.total) == (
        totals.net_total,
        totals.iva,
        totals.iva_total,
        totals.total,
    )
    assert compute_totals(lines, discount_percent=percent, discount_amount=amount) == totals


@settings(max_examples=200, deadline=None)
@given(lines=lines_strategy, percent=percents, amount=cents)
def test_a_refused_quote_really_had_a_discount_larger_than_its_amount(
    lines: list[LineInput], percent: D, amount: D
) -> None:
    if _totals_or_none(lines, percent, amount) is not None:
        return
    gross = [line.unit_price * line.quantity for line in lines]
    line_discounts = [
        (g * line.discount_percent / 100).quantize(D('0.01'), rounding='ROUND_HALF_UP') + line.discount_amount
        for g, line in zip(gross, lines, strict=True)
    ]
    if all(d <= g for d, g in zip(line_discounts, gross, strict=True)):
        subtotal = sum(g - d for g, d in zip(gross, line_discounts, strict=True))
        quote_discount = (subtotal * percent / 100).quantize(D('0.01'), rounding='ROUND_HALF_UP') + amount
        assert quote_discount > subtotal
