"""What the bot says about a photo's VIN (V1), in the customer's language (Spanish of Argentina by default).

These are messages to customers, not UI text, so they live with the service that decides them; the wording
follows the rule of the feature: a VIN nothing confirmed is given as "sin verificar", and nothing
found means asking for a better photo or the typed VIN — never a guess.
"""

from __future__ import annotations

from .readings import VinReadingPublic
from .validation import VinStatus

_TEXTS = {
    'es': {
        'verified': 'Tu vehículo: {vehicle} — VIN {vin}.',
        'unverified': 'Tu vehículo: {vehicle} — VIN {vin} (sin verificar: ¿me confirmás que está bien?).',
        'none': 'No pude leer el VIN en la foto. ¿Me mandás otra foto más clara y derecha de la etiqueta o chapa '
        '(sin reflejos), o el VIN escrito? Son 17 caracteres.',
        'unknown_vehicle': 'vehículo sin datos del fabricante',
    },
    'en': {
        'verified': 'Your vehicle: {vehicle} — VIN {vin}.',
        'unverified': 'Your vehicle: {vehicle} — VIN {vin} (unverified: could you confirm it is right?).',
        'none': "I couldn't read the VIN in the photo. Could you send a clearer, straight photo of the label or "
        'plate (no glare), or type the VIN? It has 17 characters.',
        'unknown_vehicle': 'vehicle without maker data',
    },
}


def vin_reply_text(reading: VinReadingPublic | None, *, locale: str = 'es') -> str:
    """The bot's answer to a photo: the vehicle and VIN when found, otherwise a request for a better photo."""
    texts = _TEXTS.get(locale, _TEXTS['es'])
    if reading is None or not reading.found or reading.vin is None:
        return texts['none']
    vehicle = reading.vehicle_label or texts['unknown_vehicle']
    key = 'verified' if reading.status == VinStatus.VERIFIED or reading.source == 'manual' else 'unverified'
    return texts[key].format(vehicle=vehicle, vin=reading.vin)
