"""Offline decoding: maker, country, year, and the model where the VIN itself says it."""

from __future__ import annotations

from services.vin.decoding import decode_vehicle, known_maker, vpic_available


def test_a_brazilian_volkswagen_gol_2015() -> None:
    vehicle = decode_vehicle('9BWAB45U5FP012345')

    assert vehicle is not None
    assert (vehicle.make, vehicle.year, vehicle.country) == ('Volkswagen', 2015, 'Brazil')
    assert vehicle.model.startswith('Gol')
    assert vehicle.label == 'Volkswagen Gol / Voyage / Saveiro 2015'


def test_a_north_american_honda_decodes_its_maker_and_year() -> None:
    vehicle = decode_vehicle('1HGCM82633A004352')

    assert vehicle is not None
    assert (vehicle.make, vehicle.year, vehicle.region) == ('Honda', 2003, 'North America')
    if vpic_available():  # NHTSA vPIC data, when the optional `vin` package is installed
        assert vehicle.model == 'Accord'


def test_argentinian_makers_are_named_by_their_brand() -> None:
    chevrolet, fiat = decode_vehicle('8AGSC1950AR123456'), decode_vehicle('8AP17816RD1234567')
    assert chevrolet is not None and chevrolet.make == 'Chevrolet'
    assert fiat is not None and fiat.make == 'Fiat'


def test_a_model_is_never_guessed_from_a_vin_that_does_not_define_it() -> None:
    fiat = decode_vehicle('8AP17816RD1234567')
    assert fiat is not None and fiat.model == ''
    assert decode_vehicle('too short') is None


def test_known_maker_tells_real_wmis_from_words() -> None:
    assert known_maker('9BWAB45U5FP012345')
    assert known_maker('VF1BB05CF12345678')
    assert not known_maker('FABR1CAD0EN112014')
