"""The rule engine (A2's offline engine, the default with no LLM key): es-AR understanding by rules
(services/assistant/nlu.py), the catalog search, and replies written here.

It is stateless: what the customer said earlier (vehicle, VIN, the part) is read again from the thread each
turn, so it survives restarts and a human's interventions, and the same thread always gets the same answer.
It asks for what is missing (the part, the vehicle or VIN, the model), proposes up to three products with price
(IVA included) and stock at the conversation's branch, and hands over to a person when asked, when the customer
wants to buy, or when it does not understand twice in a row / finds nothing for a clear request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..catalog.search import ProductHit, catalog_index, skus_in_text
from ..catalog.vehicles import Vehicle, VehicleVocabulary
from .engine import (
    HANDOFF_CUSTOMER_ASKED,
    HANDOFF_PURCHASE_INTENT,
    HANDOFF_UNSURE,
    AssistantTools,
    EngineReply,
    HistoryMessage,
    TurnContext,
    product_line,
)
from .nlu import Understanding, is_part_noun, understand
from .vin import VinReading

# Parts that fit by specification, not by vehicle: proposed without asking for the car first.
UNIVERSAL_PART_WORDS = frozenset({'lampara', 'lamparas', 'aceite', 'grasa', 'liquido', 'refrigerante'})
MAX_PROPOSALS = 3


@dataclass
class ConversationState:
    """What the thread has established so far (newest mention wins)."""

    vehicle: Vehicle | None = None
    vin: VinReading | None = None
    need: tuple[str, ...] = ()
    offered: list[str] = field(default_factory=list)  # SKUs in the newest outbound message that proposed some
    bot_spoke: bool = False

    @property
    def effective_vehicle(self) -> Vehicle | None:
        """The vehicle, completed with what a valid VIN says (make, model year)."""
        vehicle = self.vehicle
        if self.vin and self.vin.valid:
            from_vin = Vehicle(make=self.vin.make, year=self.vin.year)
            vehicle = vehicle.merged_over(from_vin) if vehicle else from_vin
        return vehicle


def read_state(history: list[HistoryMessage], vehicles: VehicleVocabulary | None = None) -> ConversationState:
    state = ConversationState()
    for message in history:
        if message.from_customer:
            understood = understand(message.text, vehicles=vehicles)
            if understood.vehicle:
                state.vehicle = understood.vehicle.merged_over(state.vehicle)
            if understood.vin:
                state.vin = understood.vin
            if understood.part_words:
                state.need = understood.part_words
        else:
            state.bot_spoke = state.bot_spoke or message.sender_kind == 'ai'
            skus = skus_in_text(message.text)
            if skus:
                state.offered = skus
    return state


def first_name(name: str) -> str:
    return name.strip().split()[0] if name.strip() else ''


class RuleEngine:
    name = 'rules'

    def __init__(self, tools: AssistantTools) -> None:
        self.tools = tools

    async def reply(self, turn: TurnContext) -> EngineReply:
        vehicles = (await catalog_index(self.tools.db)).vehicles
        understood = understand(turn.new_text, vehicles=vehicles)
        state = read_state(turn.history, vehicles)
        reply = await self._decide(turn, understood, state)
        if 'info' in understood.signals and understood.intent not in {'info', 'human'}:
            # "bomba de agua para el Siena, ¿hacen envío a Rosario?": the part leads, the store's answer follows.
            answers = await self._store_answers(turn, understood)
            if answers:
                reply = EngineReply(
                    text=reply.text + '\n' + ' '.join(answers),
                    intent=reply.intent,
                    engine=reply.engine,
                    handoff=reply.handoff,
                    products=reply.products,
                    detail=reply.detail,
                )
        greeting = ''
        if 'greeting' in understood.signals and not state.bot_spoke and understood.intent != 'greeting':
            name = first_name(turn.customer_name)
            greeting = f'¡Hola{" " + name if name else ""}! '
        detail = {
            'understood': {
                'intent': understood.intent,
                'signals': sorted(understood.signals),
                'part': list(understood.part_words),
                'codes': list(understood.codes),
                'vin': understood.vin.vin if understood.vin else None,
            },
            'state': {
                'need': list(state.need),
                'offered': state.offered,
                'vehicle': state.effective_vehicle.label() if state.effective_vehicle else None,
            },
        }
        return EngineReply(
            text=greeting + reply.text,
            intent=understood.intent,
            engine=self.name,
            handoff=reply.handoff,
            products=reply.products,
            vehicle=state.effective_vehicle,
            detail={**detail, **reply.detail},
        )

    async def _decide(  # noqa: PLR0912 - the decision table, in priority order
        self, turn: TurnContext, understood: Understanding, state: ConversationState
    ) -> EngineReply:
        intent = understood.intent
        branch = turn.branch_name
        if intent == 'human':
            return _reply(
                f'¡Claro! Ya le aviso a un vendedor de {branch}; en unos minutos te escribe por acá.',
                intent,
                handoff=HANDOFF_CUSTOMER_ASKED,
            )
        if intent in {'purchase', 'quote'} or (intent == 'confirm' and state.offered):
            chosen = ' lo que elegiste' if state.offered else ' tu pedido'
            return _reply(
                f'¡Buenísimo! Te paso con un vendedor de {branch} para confirmar{chosen} (forma de pago '
                'y retiro o envío). Ya te escribe por acá.',
                intent,
                handoff=HANDOFF_PURCHASE_INTENT,
            )
        if intent == 'info':
            return await self._about_the_store(turn, understood)
        if intent == 'thanks':
            return _reply('¡De nada! Cualquier otra cosa, escribime por acá.', intent)
        if intent == 'greeting':
            name = first_name(turn.customer_name)
            return _reply(
                f'¡Hola{" " + name if name else ""}! Soy el asistente virtual de {branch}. ¿Qué repuesto '
                'buscás y para qué vehículo?',
                intent,
            )
        if understood.codes:
            hits = [
                hit
                for code in understood.codes
                for hit in (await self.tools.search(query=code, branch_id=turn.branch_id, limit=3)).hits
                if hit.matched_code
            ]
            if hits:
                return _proposal(hits, intent, intro='Con ese código tengo:')
        speaks_of_need = bool(
            understood.part_words
            or understood.vehicle
            or understood.vin
            or intent in {'price', 'stock', 'part_request'}
        )
        if state.need and (speaks_of_need or not state.offered):
            return await self._need(turn, understood, state)
        if intent in {'price', 'stock'} and state.offered:
            return await self._about_offered(turn, state, intent)
        if intent == 'vin' and understood.vin:
            return _about_vin(understood.vin, intent)
        if intent == 'vehicle_info' and understood.vehicle:
            vehicle = state.effective_vehicle or understood.vehicle
            return _reply(f'Perfecto, {vehicle.label()}. ¿Qué repuesto necesitás?', intent)
        if intent == 'confirm':
            return _reply('¡Genial! Contame qué repuesto necesitás y para qué vehículo.', intent)
        if intent in {'price', 'stock'}:
            return _reply(
                '¿De qué repuesto? Decime cuál y para qué vehículo (marca, modelo y año) y te paso precio y stock.',
                intent,
            )
        if turn.previous_intents and turn.previous_intents[-1] == 'unknown':
            return _reply(
                'Disculpá, no estoy seguro de haberte entendido. Te paso con un vendedor que te va a ayudar enseguida.',
                intent,
                handoff=HANDOFF_UNSURE,
            )
        return _reply(
            'Perdón, no te entendí bien. ¿Me decís qué repuesto necesitás y para qué vehículo (marca, '
            'modelo y año, o el VIN)?',
            intent,
        )

    async def _need(self, turn: TurnContext, understood: Understanding, state: ConversationState) -> EngineReply:
        intent = understood.intent
        need = ' '.join(state.need)
        vehicle = state.effective_vehicle
        prefix = ''
        if understood.vin:
            prefix = _vin_sentence(understood.vin) + ' '
        universal = bool(set(state.need) & UNIVERSAL_PART_WORDS)
        if (vehicle is None or not vehicle.known) and not universal:
            return _reply(
                prefix + '¿Para qué vehículo lo necesitás? Decime marca, modelo y año (por ejemplo: '
                'Gol Trend 2015) o pasame el VIN, los 17 caracteres de la cédula.',
                intent,
            )
        if vehicle is not None and vehicle.make and not vehicle.model and not universal:
            return _reply(prefix + f'¿Qué modelo de {vehicle.make} es, y de qué año?', intent)
        result = await self.tools.search(
            query=need,
            branch_id=turn.branch_id,
            vehicle=vehicle if vehicle and vehicle.known else None,
            limit=MAX_PROPOSALS,
        )
        hits = [] if result.partial else result.hits
        nouns = [word for word in state.need if is_part_noun(word)]
        if not hits and nouns and len(nouns) < len(state.need):
            # "me cobraron 35000 por las pastillas, ¿tenés más baratas?": the words around the part made the search
            # find nothing; the part alone, for the same vehicle, still answers.
            result = await self.tools.search(
                query=' '.join(nouns),
                branch_id=turn.branch_id,
                vehicle=vehicle if vehicle and vehicle.known else None,
                limit=MAX_PROPOSALS,
            )
            hits = [] if result.partial else result.hits
        if not hits:
            what = f'{need} para {vehicle.label()}' if vehicle and vehicle.known else need
            return _reply(
                prefix + f'No encontré "{what}" en el catálogo. Le paso tu consulta a un vendedor para '
                'que lo revise y te confirme.',
                intent,
                handoff=HANDOFF_UNSURE,
            )
        intro = f'Para tu {vehicle.label()} tengo:' if vehicle and vehicle.known else 'Tengo estas opciones:'
        reply = _proposal(hits, intent, intro=prefix + intro)
        if vehicle and vehicle.known and not vehicle.year:
            reply = EngineReply(
                text=reply.text + '\nSi me decís el año te confirmo cuál corresponde.',
                intent=intent,
                engine='rules',
                products=reply.products,
            )
        return reply

    async def _store_answers(self, turn: TurnContext, understood: Understanding) -> list[str]:
        return [
            answer
            for topic in understood.info_topics
            if (answer := await self.tools.store_answer(topic=topic, branch_id=turn.branch_id))
        ]

    async def _about_the_store(self, turn: TurnContext, understood: Understanding) -> EngineReply:
        """Hours, shipping, where the store is: the store's own answer; what it has not written down, a person's."""
        answers = await self._store_answers(turn, understood)
        seller = f'un vendedor de {turn.branch_name}' if turn.branch_name else 'un vendedor'
        if not answers:
            return _reply(
                f'Eso te lo confirma {seller}: ya le aviso y te escribe por acá.', 'info', handoff=HANDOFF_UNSURE
            )
        if len(answers) < len(understood.info_topics):
            return _reply(
                ' '.join(answers) + f' Lo demás te lo confirma {seller}; ya le aviso.', 'info', handoff=HANDOFF_UNSURE
            )
        if 'price' in understood.signals:  # "¿cuánto sale el envío a Quilmes?": the cost is a person's to quote
            return _reply(
                ' '.join(answers) + f' El costo te lo confirma {seller}; ya le aviso.', 'info', handoff=HANDOFF_UNSURE
            )
        return _reply(' '.join(answers) + ' ¿Te ayudo con algún repuesto?', 'info')

    async def _about_offered(self, turn: TurnContext, state: ConversationState, intent: str) -> EngineReply:
        hits = [
            hit
            for sku in state.offered[:MAX_PROPOSALS]
            if (hit := await self.tools.stock(sku=sku, branch_id=turn.branch_id)) is not None
        ]
        if not hits:
            return _reply('Dejame consultarlo con un vendedor y te confirmo.', intent, handoff=HANDOFF_UNSURE)
        return _proposal(hits, intent, intro='Te confirmo precio y stock:')


def _reply(text: str, intent: str, *, handoff: str | None = None) -> EngineReply:
    return EngineReply(text=text, intent=intent, engine='rules', handoff=handoff)


def _proposal(hits: list[ProductHit], intent: str, *, intro: str) -> EngineReply:
    lines = [intro, *(product_line(number, hit) for number, hit in enumerate(hits[:MAX_PROPOSALS], start=1))]
    lines.append('¿Te reservo alguno o te paso el presupuesto?')
    return EngineReply(
        text='\n'.join(lines), intent=intent, engine='rules', products=[hit.sku for hit in hits[:MAX_PROPOSALS]]
    )


def _vin_sentence(vin: VinReading) -> str:
    if not vin.valid:
        return f'El VIN {vin.vin} no me da válido ({vin.problem}).'
    what = ' '.join(str(part) for part in (vin.make, vin.year) if part) or 'un vehículo'
    if vin.verified:
        return f'Leí el VIN {vin.vin}: {what}.'
    # Outside North America no check digit confirms it: a misread character would go unnoticed (SPEC V1).
    return f'Por el VIN {vin.vin} sería {what} (confirmame que esté bien escrito).'


def _about_vin(vin: VinReading, intent: str) -> EngineReply:
    if not vin.valid:
        return _reply(f'{_vin_sentence(vin)} ¿Me lo pasás de nuevo, o una foto de la cédula o de la chapa?', intent)
    return _reply(f'{_vin_sentence(vin)} ¿Qué modelo es y qué repuesto necesitás?', intent)
