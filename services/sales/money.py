"""Money and percentages as an Argentine customer reads them: `$ 1.234,56`, `10,5 %`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ..errors import InvalidInput

CENT = Decimal('0.01')
ZERO = Decimal('0.00')
HUNDRED = Decimal(100)


def to_cents(value: Decimal) -> Decimal:
    """Round half up to the cent: how AFIP's invoicing rounds (see docs/sales.md, "Rounding")."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(value: object, *, what: str, places: int = 2) -> Decimal:
    """A user-typed amount or rate: '1234,5', '1.234,50' and '1234.50' are all accepted; more decimals than
    `places` is refused rather than silently rounded (a price typed with 3 decimals is a typo)."""
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = str(value).strip().replace('$', '').replace(' ', '')
        if ',' in text:  # es-AR: '.' groups thousands, ',' is the decimal point
            text = text.replace('.', '').replace(',', '.')
        try:
            number = Decimal(text or '0')
        except InvalidOperation as exc:
            raise InvalidInput(f'{what}: {value!r} is not a number') from exc
    if not number.is_finite():
        raise InvalidInput(f'{what}: {value!r} is not a number')
    if number != number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        raise InvalidInput(f'{what}: at most {places} decimals ({value!r})')
    return number.quantize(Decimal(1).scaleb(-places))


def format_ars(amount: Decimal, *, symbol: bool = True) -> str:
    """`$ 1.234.567,89`; negative amounts (discounts) as `-$ 1.234,00`."""
    cents = to_cents(amount)
    sign = '-' if cents < 0 else ''
    whole, fraction = f'{abs(cents):.2f}'.split('.')
    grouped = f'{int(whole):,}'.replace(',', '.')
    return f'{sign}{"$ " if symbol else ""}{grouped},{fraction}'


def format_rate(rate: Decimal) -> str:
    """`21 %`, `10,5 %`, `2,75 %` — no trailing zeros."""
    text = f'{rate.normalize():f}' if rate == rate.to_integral_value() else f'{rate:f}'.rstrip('0')
    return f'{text.replace(".", ",")} %'
