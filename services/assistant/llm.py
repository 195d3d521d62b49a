"""The LLM engine (A2): any OpenAI-compatible chat-completions API through the `openai` SDK — OpenRouter,
Gemini's OpenAI-compatible endpoint, Ollama, vLLM — with tool calls for the catalog, VINs, stock and the
hand-over to a person.

Every failure of a turn — timeout, HTTP error, a malformed tool call, an empty answer, too many tool rounds —
makes that one turn fall back to the rule engine, so the customer always gets an answer; `detail['fallback']`
records why. The SDK's own retries are off: the timeout is the whole budget of a turn.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import (
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolUnionParam,
)

from ..catalog.search import skus_in_text
from ..catalog.vehicles import Vehicle
from .engine import (
    HANDOFF_REASONS,
    HANDOFF_UNSURE,
    AssistantTools,
    EngineReply,
    TurnContext,
    hit_as_tool_result,
)
from .nlu import understand
from .rules import RuleEngine

if TYPE_CHECKING:
    import httpx2

log = logging.getLogger(__name__)

MAX_TOOL_ROUNDS = 4
HISTORY_MESSAGES = 20

TOOLS: list[ChatCompletionToolUnionParam] = [
    {
        'type': 'function',
        'function': {
            'name': 'search_catalog',
            'description': 'Busca repuestos en el catálogo de la sucursal. Devuelve hasta 5 productos con SKU, título, '
            'precio en pesos con IVA incluido y stock en la sucursal. Acepta errores de tipeo y códigos.',
            'parameters': {
                'type': 'object',
                'properties': {
                    'query': {'type': 'string', 'description': 'El repuesto o su código, p. ej. "pastillas de freno"'},
                    'make': {'type': 'string', 'description': 'Marca del vehículo, p. ej. "Volkswagen"'},
                    'model': {'type': 'string', 'description': 'Modelo, p. ej. "Gol Trend"'},
                    'year': {'type': 'integer', 'description': 'Año del modelo, p. ej. 2015'},
                    'in_stock_only': {'type': 'boolean', 'description': 'Solo productos con stock en la sucursal'},
                },
                'required': ['query'],
            },
        },
    },
    {
        'type': 'function',
        'function': {
            'name': 'decode_vin',
            'description': 'Valida y decodifica un VIN (número de chasis de 17 caracteres): fabricante, país y año.',
            'parameters': {'type': 'object', 'properties': {'vin': {'type': 'string'}}, 'required': ['vin']},
        },
    },
    {
        'type': 'function',
        'function': {
            'name': 'check_stock',
            'description': 'Precio (con IVA) y stock en la sucursal de un producto por su SKU.',
            'parameters': {'type': 'object', 'properties': {'sku': {'type': 'string'}}, 'required': ['sku']},
        },
    },
    {
        'type': 'function',
        'function': {
            'name': 'hand_over_to_human',
            'description': 'Pasa la conversación a un vendedor humano: cuando el cliente lo pide, cuando quiere '
            'comprar/pagar/reservar, o cuando no sabés responder con seguridad.',
            'parameters': {
                'type': 'object',
                'properties': {
                    'reason': {'type': 'string', 'enum': list(HANDOFF_REASONS)},
                },
                'required': ['reason'],
            },
        },
    },
]


def system_prompt(turn: TurnContext) -> str:
    return (
        f'Sos el asistente virtual de WhatsApp de {turn.branch_name}, una casa de repuestos de autos en Argentina. '
        'Respondé en español rioplatense (voseo), breve y amable, como un vendedor por WhatsApp. '
        'Para dar precios o stock usá SIEMPRE las herramientas; nunca inventes precios, stock ni códigos. '
        'Los precios de las herramientas ya incluyen IVA. Si falta el vehículo (marca, modelo y año) o el VIN, '
        'pedilo. Proponé como máximo 3 productos, cada uno con su precio, su stock y la marca "SKU <sku>" tal como '
        'la devuelve la herramienta. Si el cliente pide hablar con una persona, quiere comprar o pagar, o no '
        'estás seguro, llamá a hand_over_to_human y decile que un vendedor le escribe enseguida.'
    )


class LLMEngine:
    name = 'llm'

    def __init__(
        self,
        tools: AssistantTools,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_seconds: float,
        fallback: RuleEngine | None = None,
        http_client: httpx2.AsyncClient | None = None,  # the SDK's HTTP library
    ) -> None:
        self.tools = tools
        self.model = model
        self.fallback = fallback or RuleEngine(tools)
        self.client = AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_seconds, max_retries=0, http_client=http_client
        )

    async def aclose(self) -> None:
        await self.client.close()

    async def reply(self, turn: TurnContext) -> EngineReply:
        try:
            return await self._converse(turn)
        except (openai.OpenAIError, httpx.HTTPError, ValueError, KeyError, TypeError, TimeoutError) as exc:
            reason = f'{type(exc).__name__}: {str(exc)[:200]}'
            log.warning('LLM turn of conversation %s fell back to the rule engine: %s', turn.conversation_id, reason)
            reply = await self.fallback.reply(turn)
            return EngineReply(
                text=reply.text,
                intent=reply.intent,
                engine=reply.engine,
                handoff=reply.handoff,
                products=reply.products,
                vehicle=reply.vehicle,
                detail={**reply.detail, 'fallback': reason},
            )

    async def _converse(self, turn: TurnContext) -> EngineReply:
        messages: list[ChatCompletionMessageParam] = [{'role': 'system', 'content': system_prompt(turn)}]
        for earlier in turn.history[-HISTORY_MESSAGES:]:
            if earlier.text and earlier.from_customer:
                messages.append({'role': 'user', 'content': earlier.text})
            elif earlier.text:
                messages.append({'role': 'assistant', 'content': earlier.text})
        offered: dict[str, dict[str, Any]] = {}
        handoff: str | None = None
        calls: list[dict[str, Any]] = []
        for _ in range(MAX_TOOL_ROUNDS + 1):
            completion = await self.client.chat.completions.create(
                model=self.model, messages=messages, tools=TOOLS, tool_choice='auto', temperature=0.2
            )
            if not completion.choices:
                raise ValueError('the model returned no choices')
            message = completion.choices[0].message
            if not message.tool_calls:
                text = (message.content or '').strip()
                if not text:
                    raise ValueError('the model returned an empty answer')
                products = [sku for sku in skus_in_text(text) if sku in offered]
                return EngineReply(
                    text=text[:4000],
                    intent=understand(turn.new_text).intent,
                    engine=self.name,
                    handoff=handoff,
                    products=products,
                    detail={'tool_calls': calls, 'model': completion.model or self.model},
                )
            tool_calls: list[ChatCompletionMessageFunctionToolCall] = []
            for call in message.tool_calls:
                if not isinstance(call, ChatCompletionMessageFunctionToolCall):  # only function tools are offered
                    raise ValueError(f'the model made a {call.type!r} tool call')
                tool_calls.append(call)
            messages.append(
                {
                    'role': 'assistant',
                    'content': message.content or None,
                    'tool_calls': [
                        {
                            'id': call.id,
                            'type': 'function',
                            'function': {'name': call.function.name, 'arguments': call.function.arguments},
                        }
                        for call in tool_calls
                    ],
                }
            )
            for call in tool_calls:
                arguments = json.loads(call.function.arguments or '{}')
                if not isinstance(arguments, dict):
                    raise ValueError(f'tool {call.function.name} got non-object arguments')
                result, handoff = await self._run_tool(turn, call.function.name, arguments, offered, handoff)
                calls.append({'name': call.function.name, 'arguments': arguments})
                messages.append(
                    {'role': 'tool', 'tool_call_id': call.id, 'content': json.dumps(result, ensure_ascii=False)}
                )
        raise ValueError(f'no answer after {MAX_TOOL_ROUNDS} tool rounds')

    async def _run_tool(
        self,
        turn: TurnContext,
        name: str,
        arguments: dict[str, Any],
        offered: dict[str, dict[str, Any]],
        handoff: str | None,
    ) -> tuple[Any, str | None]:
        if name == 'search_catalog':
            year = arguments.get('year')
            vehicle = Vehicle(
                make=arguments.get('make') or None,
                model=arguments.get('model') or None,
                year=int(year) if isinstance(year, int | str) and str(year).isdigit() else None,
            )
            found = await self.tools.search(
                query=str(arguments.get('query', ''))[:200],
                branch_id=turn.branch_id,
                vehicle=vehicle if vehicle.known else None,
                in_stock_only=bool(arguments.get('in_stock_only')),
            )
            results = [hit_as_tool_result(hit) for hit in found.hits]
            offered.update((item['sku'], item) for item in results)
            # partial: no product has every word; the model should say so rather than offer these as a match.
            return {'products': results, 'partial': found.partial}, handoff
        if name == 'decode_vin':
            reading = self.tools.decode_vin(str(arguments.get('vin', '')))
            return {
                'vin': reading.vin,
                'valid': reading.valid,
                'make': reading.make,
                'country': reading.country,
                'year': reading.year,
                'problem': reading.problem,
            }, handoff
        if name == 'check_stock':
            hit = await self.tools.stock(sku=str(arguments.get('sku', '')), branch_id=turn.branch_id)
            if hit is None:
                return {'found': False}, handoff
            offered[hit.sku] = hit_as_tool_result(hit)
            return {'found': True, **hit_as_tool_result(hit)}, handoff
        if name == 'hand_over_to_human':
            reason = arguments.get('reason')
            return {'ok': True}, reason if reason in HANDOFF_REASONS else HANDOFF_UNSURE
        raise ValueError(f'unknown tool {name!r}')
