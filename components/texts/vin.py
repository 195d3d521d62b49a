"""Photos to vehicles (SPEC V1–V3): VIN readings shown on images, manual correction."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'vin.reading': {'es': 'Leyendo el VIN…', 'en': 'Reading the VIN…'},
    'vin.status.verified': {'es': 'VIN verificado', 'en': 'Verified VIN'},
    'vin.status.unverified': {'es': 'VIN sin verificar', 'en': 'Unverified VIN'},
    'vin.status.none': {'es': 'Sin VIN', 'en': 'No VIN'},
    'vin.status.manual': {'es': 'VIN cargado a mano', 'en': 'VIN entered by hand'},
    'vin.unverified_hint': {
        'es': 'Sin dígito de control: confirmalo con el cliente.',
        'en': 'No check digit: confirm it with the customer.',
    },
    'vin.none': {'es': 'No se encontró un VIN válido en la imagen.', 'en': 'No valid VIN found in the image.'},
    'vin.failed': {'es': 'No se pudo leer la imagen.', 'en': 'The image could not be read.'},
    'vin.source.barcode': {'es': 'código de barras', 'en': 'barcode'},
    'vin.source.ocr': {'es': 'texto (OCR)', 'en': 'text (OCR)'},
    'vin.source.manual': {'es': 'corregido a mano', 'en': 'corrected by hand'},
    'vin.confidence': {'es': 'confianza {percent} %', 'en': 'confidence {percent}%'},
    'vin.candidates': {'es': 'Otras lecturas posibles:', 'en': 'Other possible readings:'},
    'vin.correct': {'es': 'Corregir VIN', 'en': 'Correct VIN'},
    'vin.enter': {'es': 'Cargar VIN', 'en': 'Enter VIN'},
    'vin.input': {'es': 'VIN (17 caracteres)', 'en': 'VIN (17 characters)'},
    'vin.save': {'es': 'Guardar', 'en': 'Save'},
    'vin.cancel': {'es': 'Cancelar', 'en': 'Cancel'},
    'vin.saved': {'es': 'VIN guardado: {vin}', 'en': 'VIN saved: {vin}'},
    'vin.invalid': {
        'es': 'Ese VIN no es válido: revisá que tenga 17 caracteres (sin I, O ni Q) y su dígito de control.',
        'en': 'That VIN is not valid: check it has 17 characters (no I, O or Q) and its check digit.',
    },
    'vin.not_allowed': {'es': 'No podés corregir este mensaje.', 'en': 'You cannot correct this message.'},
    'vin.parts': {'es': 'Códigos de repuesto en la foto: {codes}', 'en': 'Part codes in the photo: {codes}'},
}
