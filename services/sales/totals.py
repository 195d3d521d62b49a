"""Quote totals to the cent (S3): line discounts, a whole-quote discount, IVA per rate.

The rule (docs/sales.md, "Rounding"), the way an Argentine invoice (AFIP, factura electrónica) is built:

1. A line's gross is quantity × unit price (IVA excluded), exact.
2. Its percentage discount is rounded half up to the cent, then its amount discount is subtracted: the line's
   net. A discount larger than the line is an error, never a negative line.
3. The whole-quote discount (percentage of the lines' sum, rounded, plus an amount) is shared among the lines
   in proportion to their nets, in whole cents, largest remainder first, so the IVA base of each rate is what
   the customer really pays for and the shares add up to the discount exactly.
4. IVA is computed once per rate on that rate's base and rounded half up — AFIP validates each `AlicIva`
   amount against base × rate, not a sum of per-line roundings.
5. Net total = Σ bases, IVA total = Σ IVA per rate, total = net + IVA. Every figure printed is one of these
   sums, so the document always adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from ..errors import InvalidInput
from .money import CENT, HUNDRED, ZERO, to_cents

DEFAULT_IVA_RATE = Decimal('21.00')
MAX_QUANTITY = 100_000
MAX_LINES = 200


@dataclass(frozen=True)
class LineInput:
    quantity: int
    unit_price: Decimal  # IVA excluded
    iva_rate: Decimal = DEFAULT_IVA_RATE
    discount_percent: Decimal = ZERO
    discount_amount: Decimal = ZERO


@dataclass(frozen=True)
class LineAmounts:
    gross: Decimal  # quantity × unit price
    line_discount: Decimal  # this line's own discounts
    net: Decimal  # gross − line discount: the amount printed on the line
    quote_discount: Decimal  # this line's share of the whole-quote discount
    taxable: Decimal  # net − share: the line's part of its rate's IVA base
    iva_rate: Decimal


@dataclass(frozen=True)
class IvaBucket:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class QuoteTotals:
    lines: tuple[LineAmounts, ...]
    subtotal: Decimal  # Σ line nets
    quote_discount: Decimal
    net_total: Decimal  # subtotal − quote discount = Σ IVA bases
    iva: tuple[IvaBucket, ...]  # highest rate first
    iva_total: Decimal
    total: Decimal


def _check_rate(value: Decimal, what: str) -> None:
    if value < 0 or value > HUNDRED:
        raise InvalidInput(f'{what} must be between 0 and 100 ({value})')
    if value != value.quantize(CENT):
        raise InvalidInput(f'{what}: at most 2 decimals ({value})')


def _check_amount(value: Decimal, what: str) -> None:
    if value < 0:
        raise InvalidInput(f'{what} cannot be negative ({value})')
    if value != value.quantize(CENT):
        raise InvalidInput(f'{what}: at most 2 decimals ({value})')


def line_amounts(line: LineInput, *, position: int = 1) -> tuple[Decimal, Decimal, Decimal]:
    """(gross, line discount, net) of one line; raises `InvalidInput` naming the line."""
    what = f'line {position}'
    if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or not 1 <= line.quantity <= MAX_QUANTITY:
        raise InvalidInput(f'{what}: quantity must be a whole number from 1 to {MAX_QUANTITY} ({line.quantity!r})')
    _check_amount(line.unit_price, f'{what}: unit price')
    _check_rate(line.iva_rate, f'{what}: IVA rate')
    _check_rate(line.discount_percent, f'{what}: discount %')
    _check_amount(line.discount_amount, f'{what}: discount amount')
    gross = line.unit_price * line.quantity
    discount = to_cents(gross * line.discount_percent / HUNDRED) + line.discount_amount
    if discount > gross:
        raise InvalidInput(f'{what}: the discount ({discount}) is larger than the line ({gross})')
    return gross, discount, gross - discount


def compute_totals(
    lines: Sequence[LineInput], *, discount_percent: Decimal = ZERO, discount_amount: Decimal = ZERO
) -> QuoteTotals:
    if len(lines) > MAX_LINES:
        raise InvalidInput(f'a quote has at most {MAX_LINES} lines ({len(lines)} given)')
    _check_rate(discount_percent, 'quote discount %')
    _check_amount(discount_amount, 'quote discount amount')
    per_line = [line_amounts(line, position=index) for index, line in enumerate(lines, start=1)]
    subtotal = sum((net for _, _, net in per_line), ZERO)
    quote_discount = to_cents(subtotal * discount_percent / HUNDRED) + discount_amount
    if quote_discount > subtotal:
        raise InvalidInput(f'the quote discount ({quote_discount}) is larger than the lines ({subtotal})')
    shares = _share(quote_discount, [net for _, _, net in per_line], [line.iva_rate for line in lines])
    amounts = tuple(
        LineAmounts(
            gross=gross,
            line_discount=discount,
            net=net,
            quote_discount=share,
            taxable=net - share,
            iva_rate=line.iva_rate.quantize(CENT),
        )
        for (gross, discount, net), share, line in zip(per_line, shares, lines, strict=True)
    )
    bases: dict[Decimal, Decimal] = {}
    for amount in amounts:
        bases[amount.iva_rate] = bases.get(amount.iva_rate, ZERO) + amount.taxable
    buckets = tuple(
        IvaBucket(rate=rate, base=base, amount=to_cents(base * rate / HUNDRED))
        for rate, base in sorted(bases.items(), reverse=True)
    )
    net_total = subtotal - quote_discount
    iva_total = sum((bucket.amount for bucket in buckets), ZERO)
    return QuoteTotals(
        lines=amounts,
        subtotal=subtotal,
        quote_discount=quote_discount,
        net_total=net_total,
        iva=buckets,
        iva_total=iva_total,
        total=net_total + iva_total,
    )


def _share(discount: Decimal, nets: Sequence[Decimal], rates: Sequence[Decimal]) -> list[Decimal]:
    """Split `discount` into whole cents proportional to `nets` (largest remainder).

    Ties go to the larger net, then the higher rate, and only then to the earlier line: two tied lines differ
    in position alone only when they have the same net and rate, so the IVA of each rate does not depend on
    the order of the lines.
    """
    total = sum(nets, ZERO)
    if discount == 0 or total == 0:
        return [ZERO for _ in nets]
    exact = [discount * net / total for net in nets]
    floors = [value.quantize(CENT, rounding=ROUND_FLOOR) for value in exact]
    left = int((discount - sum(floors, ZERO)) / CENT)
    order = sorted(range(len(nets)), key=lambda i: (-(exact[i] - floors[i]), -nets[i], -rates[i], i))
    for index in order[:left]:
        floors[index] += CENT
    return floors
