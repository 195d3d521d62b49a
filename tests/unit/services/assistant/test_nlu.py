"""Understanding es-AR customers without a model: intents, vehicles, VINs, parts — typos and slang included."""

from __future__ import annotations

import pytest

from services.assistant.nlu import understand
from services.assistant.vin import decode_vin, find_vin
from services.catalog.vehicles import Vehicle
from services.vin.candidates import parse_typed_vin
from services.vin.validation import VinStatus


@pytest.mark.parametrize(
    ('text', 'intent'),
    [
        ('Hola, buenas tardes', 'greeting'),
        ('necesito pastillas de freno', 'part_request'),
        ('cuánto sale?', 'price'),
        ('Cuanto salen las pastillas?', 'price'),
        ('¿hay stock?', 'stock'),
        ('Quiero hablar con una persona', 'human'),
        ('pasame con un vendedor porfa', 'human'),
        ('lo compro, ¿cómo te pago?', 'purchase'),
        ('reservamelo que paso mañana', 'purchase'),
        ('pasame un presupuesto', 'quote'),
        ('sí', 'confirm'),
        ('dale', 'confirm'),
        ('confirmo', 'confirm'),
        ('gracias!!', 'thanks'),
        ('es un gol trend 2015', 'vehicle_info'),
        ('mi vin es 9BWAB45U0FT012345', 'vin'),
        ('asdfgh', 'unknown'),
    ],
)
def test_intents(text: str, intent: str) -> None:
    assert understand(text).intent == intent


@pytest.mark.parametrize(
    ('text', 'vehicle'),
    [
        ('pastillas para Gol Trend 2015', Vehicle('Volkswagen', 'Gol Trend', 2015)),
        ('goltrend 2016', Vehicle('Volkswagen', 'Gol Trend', 2016)),
        ('un corsa clasic del 2009', Vehicle('Chevrolet', 'Corsa Classic', 2009)),
        ('tengo un gol 98', Vehicle('Volkswagen', 'Gol', 1998)),
        ('peugeot 208 del 17', Vehicle('Peugeot', '208', 2017)),
        ("etios '16", Vehicle('Toyota', 'Etios', 2016)),
        ('vw amarock 2019', Vehicle('Volkswagen', 'Amarok', 2019)),
        ('para la ecosport', Vehicle('Ford', 'EcoSport', None)),
    ],
)
def test_vehicles_with_typos_slang_and_short_years(text: str, vehicle: Vehicle) -> None:
    found = understand(text).vehicle
    assert found is not None
    assert (found.make, found.model, found.year) == (vehicle.make, vehicle.model, vehicle.year)


@pytest.mark.parametrize('text', ['necesito uno igual', 'de una', 'tengo una idea', '2008 pesos'])
def test_everyday_words_are_not_cars(text: str) -> None:
    found = understand(text).vehicle
    assert found is None or not found.known


def test_a_lone_2008_is_a_year_but_peugeot_2008_is_a_model() -> None:
    assert understand('es del 2008').vehicle == Vehicle(year=2008)
    assert understand('peugeot 2008 del 2019').vehicle == Vehicle('Peugeot', '2008', 2019)


def test_the_part_words_drop_the_way_of_asking_and_fix_typos() -> None:
    understood = understand('hola nesesito pastilals de frneo delanteras para un palio')

    assert understood.part_words == ('pastillas', 'freno', 'delanteras')
    assert understood.vehicle == Vehicle('Fiat', 'Palio', None)


def test_a_fuel_after_de_is_the_part_not_the_engine() -> None:
    understood = understand('bomba de nafta para clio 1.6')

    assert 'combustible' in understood.part_words
    assert understood.vehicle == Vehicle('Renault', 'Clio', None, '1.6')


def test_a_typed_vin_is_found_even_split_in_pieces() -> None:
    reading = find_vin('el chasis es 9BW ZZZ 377 VT 004251?')

    assert reading is not None and reading.vin == '9BWZZZ377VT004251'


def test_words_and_phone_numbers_are_never_taken_for_a_vin() -> None:
    assert find_vin('Amortiguadores para Fiat Palio 2008 precio') is None
    assert find_vin('mi cel es 11 5555 0101 1234 5678') is None
    assert understand('necesito el 0 986 424 627').vin is None


def test_a_north_american_vin_with_a_wrong_check_digit_is_not_valid() -> None:
    assert decode_vin('1HGCM82633A004352').verified
    assert not decode_vin('1HGCM82633A004353').valid


def test_a_south_american_vin_is_valid_but_never_verified() -> None:
    reading = decode_vin('9BWAB45U0FT012345')

    assert reading.valid and not reading.verified
    assert (reading.make, reading.year) == ('Volkswagen', 2015)


@pytest.mark.parametrize(
    'typed', ['9BWAB45U0FT012345', '1hgcm-82633-a004352', '1HGCM82633A004353', '9BW ZZZ 377 VT 004251', 'Z' * 17]
)
def test_a_typed_vin_is_judged_by_the_photo_pipelines_rules(typed: str) -> None:
    check = parse_typed_vin(typed)

    reading = decode_vin(typed)

    assert (reading.vin, reading.valid, reading.verified) == (
        check.vin,
        check.valid,
        check.status == VinStatus.VERIFIED,
    )


def test_an_unverifiable_vin_needs_a_known_maker_code() -> None:
    reading = decode_vin('FABR1CAD0EN112014')  # label words, not a maker: passes the structure, not the maker

    assert not reading.valid and reading.problem == 'no reconozco el código de fabricante'


@pytest.mark.parametrize(('vin', 'make'), [('VS7AB45U0FT012345', 'Citroën'), ('9BMAB45U0FT012345', 'Mercedes-Benz')])
def test_the_make_is_spelt_as_the_catalog_spells_it(vin: str, make: str) -> None:
    assert decode_vin(vin).make == make
