"""Deterministic es-AR understanding of one customer message: the intent and the entities (vehicle, VIN, the
part asked for, codes). No model, no network: the same text always gives the same reading, so it can be tested
line by line and runs in microseconds (the rule engine, the summary and the LLM engine's intent label use it).

Intents, in the order they win when a message has several signals:
`human` ("quiero hablar con una persona") > `purchase` ("lo compro", "¿cómo pago?") > `quote` ("pasame un
presupuesto") > `info` ("¿a qué hora abren?", "¿hacen envíos?", "¿dónde están?": only when the message names no
part, vehicle, code or VIN; with one, the engine answers the part and adds the store's answer) > `price` ("¿cuánto
sale?") > `stock` ("¿hay stock?" with no part named) > `part_request`
("pastillas de freno", a part code) > `vin` > `vehicle_info` ("es un Gol Trend 2015") > `confirm` ("sí",
"dale", "confirmo": a whole message of agreement, which the quotes feature uses) > `thanks` > `greeting` > `unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..catalog.text import Corrector, fold, word_variants, words
from ..catalog.vehicles import Vehicle, VehicleVocabulary, tokens
from .vin import VinReading, find_vin

INTENTS = (
    'human',
    'purchase',
    'quote',
    'info',
    'price',
    'stock',
    'part_request',
    'vin',
    'vehicle_info',
    'confirm',
    'thanks',
    'greeting',
    'unknown',
)

# Nouns that name a part (folded, singular or plural); what makes a message a part request.
PART_NOUNS = frozenset(
    """
pastilla pastillas freno frenos disco discos campana campanas cinta cintas zapata amortiguador amortiguadores
espiral espirales resorte cazoleta cazoletas parrilla parrillas buje bujes rotula rotulas bieleta bieletas extremo
extremos axial axiales cremallera fuelle fuelles homocinetica homocineticas palier semieje maza mazas ruleman
rulemanes rodamiento filtro filtros aceite lubricante grasa bujia bujias bobina bobinas cable cables inyector
inyectores sonda sensor sensores bomba bombas correa correas kit kits distribucion tensor tensores rodillo
rodillos polea poleas cadena embrague crapodina placa volante radiador radiadores termostato manguera mangueras
electroventilador ventilador deposito liquido refrigerante alternador arranque burro bateria baterias regulador
lampara lamparas optica opticas faro faros farol luz luces escobilla escobillas espejo espejos retrovisor manija
manijas levantavidrios paragolpes guardabarro capot parabrisas luneta silenciador silenciadores escape cano
catalizador junta juntas reten retenes tapa aros piston pistones valvula valvulas cuerpo mariposa compresor
condensador forzador resistencia interruptor bulbo switch relay fusible flexible flexibles cilindro cilindros
repuesto repuestos soporte soportes motor engranaje guardabarros rejilla carter bulon bulones tuerca
sensores termostatos cubierta cubiertas neumatico neumaticos llanta llantas
""".split()
)

# Words that say how the customer asks, not what for: dropped from the part query.
_FILLER = frozenset(
    """
hola holis buenas buenos buen dia dias tardes noches que tal como andas anda estas gracias muchas favor porfa
porfavor please che amigo amiga loco capo consulta consultar consulto consultaba saber queria quisiera quiero
necesito necesitaria necesitamos preciso precisaria precisamos busco buscando buscaba tenes tienen tiene tendras
tendrian tendran hay habra stock disponible disponibilidad precio precios cuanto cuanta cuantos cuesta cuestan
sale salen vale valen valor costo cotizar cotizacion presupuesto auto coche carro camioneta vehiculo tengo es son
modelo ano anio ese esa eso estos estas unas unos algunas algunos podes podrias pasas pasame pasar mandame mandar
enviar mandas dale si ok bueno joya genial perfecto listo ahi aca alla tambien nomas solo solamente original
originales alternativo marca marcas par juego me lo la los las le les nuevo nueva necesitan mi mis para el un una
uno vos ustedes nos algo cual cuales seria serian esta estan ando anda andan va van chasis vin numero nro
serie dominio patente pa pal ola q xq porque
""".split()
)

_HUMAN = re.compile(
    r'\b(hablar|habla|comunicar|comunicarme|contactar|atender|atienda|atiende|pasame|pasar|pasen|derivar|derivame)'
    r'\b.*\b(persona|humano|humana|asesor|asesora|vendedor|vendedora|alguien|operador|operadora|agente|encargado|'
    r'empleado|gente)\b'
    r'|\b(persona|humano|asesor|vendedor|operador)\s+(real|de verdad|por favor|porfa)\b'
    r'|\b(sos|es|eres) (un )?(bot|robot|maquina|contestador)\b'
    r'|\b(no (quiero|me sirve) (hablar con )?(un |el )?(bot|robot))\b'
    r'|\bquiero (una |un )?(persona|humano|asesor|vendedor)\b'
    r'|\bllam(en|ame|enme)\b'
    # Issue 18: every way of asking for a person hands over (the eval's "handoff when asked" target is 100 %).
    r'|\b(pasas|pasan|pasarias|pasarian|comunicas|comunican|comunicarias|contacta|contactan|llame|llama|llamen)\b'
    r'.*\b(persona|humano|humana|asesor|asesora|vendedor|vendedora|alguien|operador|operadora|agente|encargado)\b'
    r'|\b(pueden|podes|podrian|podrias|puede|podra) (llamar|llamarme|contactar|contactarme)\b'
    r'|\bhay (alguien|una persona|un humano)\b|\bcon quien (hablo|estoy hablando)\b'
    r'|\b(hablo|estoy hablando) con (una persona|un humano|alguien|un bot|un robot|una maquina)\b'
    r'|\batencion (al cliente|personalizada)\b|\bno (me )?(entendes|entendiste|entienden|entiende)\b'
    r'|^\W*(un |una )?(persona|humano|operador|operadora|asesor|asesora|vendedor|vendedora|agente)\W*$'
)
_PURCHASE = re.compile(
    r'\b(lo|la|los|las|me lo|me la|me los|me las) (compro|llevo|quiero|reservo|encargo|pido)\b'
    r'|\bme (lo|la|los|las) (llevo|reservas|reservan|separas|guardas|apartas)\b'
    r'|\b(quiero|voy a) (comprar|comprarlo|comprarla|comprarlos|llevarlo|llevarla|llevarlos|encargar)\b'
    r'|\b(como|donde|cuando) (te |les )?(pago|abono|transfiero|retiro|paso a buscar)\b'
    r'|\b(formas?|medios?|metodos?) de pago\b'
    r'|\b(mercado ?pago|transferencia|efectivo|tarjeta|cuotas|debito|credito|alias|cbu)\b'
    r'|\b(reserv(a|e|o|en|ame|amelo|amela|amelos|alo)|apart(a|ame|amelo)|separ(a|ame|amelo)|guard(ame|amelo))\b'
    r'|\b(paso|pasar|pasaria|pasamos|voy) a (buscar|retirar)(lo|la|los)?\b'
    r'|\bcerr(amos|emos)\b|\bconfirmo (la )?compra\b|\bcomprar(lo|la|los)?\b'
)
# Questions about the store, not a part (issue 18: "¿a qué hora abren?" got "¿qué repuesto buscás?"). Asking
# about shipping is not buying ("¿hacen envíos a Lanús?" used to hand the customer over as a purchase).
INFO_TOPICS = {
    'hours': re.compile(
        r'\b(a|hasta|desde) que hora\b|\bque horarios?\b|\bhorarios?\b|\b(abren|cierran|abierto|abiertos|atienden)\b'
    ),
    'shipping': re.compile(
        r'\b(envio|envios|envian|envias|despachan|entregas|delivery|andreani|oca)\b|\bmandan a\b|\bhacen entrega'
    ),
    'address': re.compile(
        r'\bdonde (estan|quedan|queda|los encuentro|te encuentro|se encuentran)\b|\bubicacion\b|\bcomo llego\b'
        r'|\b(la|su|tu) direccion (del local|de la sucursal|de ustedes)?\s*$|\bcual es (la|su|tu) direccion\b'
    ),
}
# Amounts: money ("90 lucas", "$45000", "61 mil"), distances ("150 mil km", "120k"), instalments. Never part words
# ("lucas" is one letter from "luces"), and money said to the bot is about the price.
_AMOUNT_UNITS = frozenset('mil lucas luca pesos mangos k km kms kilometros cuotas dolares usd ars'.split())
_AMOUNT = re.compile(r'^\d+(?:[.,]\d+)?k$')
_MONEY = re.compile(
    r'\$\s*\d|\b\d+(?:[.,]\d+)*\s*(?:mil\s+)?(?:lucas|luca|pesos|mangos)\b|\b\d+(?:[.,]\d+)?\s*mil\b(?!\s*(?:km|kms|kilometros))'
)
_QUOTE = re.compile(r'\b(presupuesto|presupuestame|cotizacion|cotizar|cotizame|cotizan|factura)\b')
_PRICE = re.compile(
    r'\bcuanto (me )?(sale|salen|cuesta|cuestan|esta|estan|vale|valen|es|son|seria|serian|cobras|cobran|sería)\b'
    r'|\b(a )?cuanto\b\s*$|\ba cuanto\b|\b(precio|precios|valor|costo|cuesta|cuestan)\b|\bque (sale|salen)\b'
)
# "tiene" alone is the car's more often than the store's ("el auto tiene 80000 km"): only "¿lo tiene?" asks for stock.
_STOCK = re.compile(
    r'\b(tenes|tienen|(lo|la|los|las) tiene|tendras|tendran|tendrian|hay|habra|stock|disponible|disponibilidad|'
    r'les queda|te queda|consiguen|conseguis|trabajan|manejan)\b'
)
_GREETING = re.compile(
    r'^\W*(hola+|holis|holaa+|buenas|buen dia|buenos dias|buenas tardes|buenas noches|que tal|'
    r'hello|hi|saludos|como va|como andas|ey|hey)\b'
)
_THANKS = re.compile(
    r'\b(gracias|grax|graciass+|muchas gracias|mil gracias|chau|hasta luego|nos vemos|'
    r'saludos cordiales)\b'
)
_CONFIRM_WORDS = frozenset(
    """si sii siii sip sisi dale dalee de una confirmo confirmado ok oka okey okay okk
perfecto listo genial buenisimo joya va claro correcto exacto afirmativo bueno vamos de una acuerdo obvio seguro
porfa por favor""".split()
)
_YES = frozenset({'si', 'sii', 'siii', 'sip', 'dale', 'confirmo', 'confirmado'})
_CONFIRM_LEADS = frozenset({'si', 'sii', 'siii', 'sip', 'dale', 'confirmo', 'ok', 'okey', 'perfecto', 'listo'})
# Maker part numbers written as digit groups ("0 986 424 627", "46447389"): seven digits or more.
_NUMERIC_CODE = re.compile(r'(?<![\d.,$])\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?![\d.,])')
# A phone number is not a part number: "llamame al 1155667788", "mi cel 11 5566-7788".
_PHONE = re.compile(
    r'\b(?:al|tel|telefono|teléfono|cel|celular|whatsapp|wsp|wpp|numero|número|nro)\.?:?\s*\+?[\d][\d .-]{6,}\d',
    re.IGNORECASE,
)
_CODE = re.compile(r'\b(?=[A-Za-z0-9./-]*\d)(?=[A-Za-z0-9./-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9./-]{3,}\b')


@dataclass(frozen=True)
class Understanding:
    intent: str
    signals: frozenset[str]
    vehicle: Vehicle | None
    vin: VinReading | None
    part_words: tuple[str, ...]
    codes: tuple[str, ...]
    info_topics: tuple[str, ...] = ()  # what the customer asks about the store: 'hours', 'shipping', 'address'

    @property
    def part_query(self) -> str:
        return ' '.join(self.part_words)

    @property
    def purchase_signal(self) -> bool:
        return bool(self.signals & {'purchase', 'quote'})


_PART_CORRECTOR = Corrector(dict.fromkeys(PART_NOUNS, 1))
_FILLER_CORRECTOR = Corrector(dict.fromkeys((w for w in _FILLER if len(w) >= 5), 1))
_DEFAULT_VEHICLES = VehicleVocabulary()


def understand(text: str, *, vehicles: VehicleVocabulary | None = None) -> Understanding:
    vehicles = vehicles or _DEFAULT_VEHICLES
    plain = re.sub(r'[^a-z0-9 ]+', ' ', fold(text)).strip()
    plain = re.sub(r'\s+', ' ', plain)
    vin = find_vin(text)
    text_for_vehicle = text[: vin.span[0]] + ' ' + text[vin.span[1] :] if vin and vin.span else text
    match = vehicles.find(text_for_vehicle)
    vehicle = match.vehicle if match else None
    vehicle_spans = match.spans if match else frozenset()
    remaining = [token for i, token in enumerate(tokens(text_for_vehicle)) if i not in vehicle_spans]
    part_words = _part_words(' '.join(remaining))
    code_text = text[: vin.span[0]] + ' ' + text[vin.span[1] :] if vin and vin.span else text
    codes = tuple(
        dict.fromkeys(
            [
                c.upper()
                for c in _CODE.findall(code_text)
                if not re.fullmatch(r'\d\.\d', c)
                and not re.fullmatch(r'\d+v', c.lower())
                and sum(ch.isdigit() for ch in c) >= 2
                and len(c) >= 5
                and not re.fullmatch(r'\d+[wW]\d+', c)
            ]
            + [
                digits
                for c in _NUMERIC_CODE.findall(_PHONE.sub(' ', code_text))
                if len(digits := re.sub(r'\D', '', c)) >= 7
            ]
        )
    )
    has_part = any(_is_part_noun(word) for word in part_words) or bool(codes)

    signals: set[str] = set()
    if _HUMAN.search(plain):
        signals.add('human')
    if _PURCHASE.search(plain):
        signals.add('purchase')
    if _QUOTE.search(plain):
        signals.add('quote')
    info_topics = tuple(topic for topic, pattern in INFO_TOPICS.items() if pattern.search(plain))
    if info_topics:
        signals.add('info')
    confirming = _is_confirmation(plain) and not (_THANKS.search(plain) and not set(plain.split()) & _YES)
    # "Dale, las de 61 mil" picks the offer by its price: a yes, not a price question.
    if _PRICE.search(plain) or (_MONEY.search(fold(text)) and not confirming):
        signals.add('price')
    if _STOCK.search(plain) and not has_part:
        signals.add('stock')
    if has_part:
        signals.add('part_request')
    if vin:
        signals.add('vin')
    if (vehicle and vehicle.known) or (vehicle and vehicle.year and not has_part):
        signals.add('vehicle_info')
    if confirming:
        signals.add('confirm')
    if _THANKS.search(plain):
        signals.add('thanks')
    if _GREETING.search(plain):
        signals.add('greeting')
    about_a_part = has_part or bool(vin) or bool(vehicle and vehicle.known)
    # A store question beside a part request: the part leads, the engine adds the store's answer.
    intent = next((name for name in INTENTS if name in signals and not (name == 'info' and about_a_part)), 'unknown')
    return Understanding(
        intent=intent,
        signals=frozenset(signals),
        vehicle=vehicle,
        vin=vin,
        part_words=part_words if has_part else (),
        codes=codes,
        info_topics=info_topics,
    )


def is_part_noun(word: str) -> bool:
    return word in PART_NOUNS or bool(word_variants(word, PART_NOUNS))


_is_part_noun = is_part_noun


def _part_words(text: str) -> tuple[str, ...]:
    """The words that describe the part: fillers gone, typos in part nouns corrected ('pastilals' ->
    'pastillas'), other words kept for the catalog search to match or ignore."""
    out: list[str] = []
    said = words(text)
    for index, word in enumerate(said):
        if word in _FILLER or (word.isdigit() and len(word) > 3) or _AMOUNT.match(word):
            continue
        if word in _AMOUNT_UNITS or (word.isdigit() and index + 1 < len(said) and said[index + 1] in _AMOUNT_UNITS):
            continue  # "90 lucas", "150 mil km": an amount, not the part
        if (
            not _is_part_noun(word)
            and _FILLER_CORRECTOR.corrections(word, limit=1)
            and not _PART_CORRECTOR.corrections(word, limit=1)
        ):
            continue  # 'nesesito', 'nececitaria': a misspelt way of asking
        corrected = [] if _is_part_noun(word) else _PART_CORRECTOR.corrections(word, limit=1)
        out.append(corrected[0] if corrected else word)
    return tuple(dict.fromkeys(out))


def _is_confirmation(plain: str) -> bool:
    if not plain:
        return False
    parts = plain.split()
    if len(parts) <= 4 and all(p in _CONFIRM_WORDS for p in parts):
        return True
    return (
        parts[0] in _CONFIRM_LEADS
        and len(parts) <= 6
        and not any(p in {'no', 'pero', 'cuanto', 'precio'} for p in parts)
    )
