"""Takeover and assignment (SPEC T1–T5): state chips, countdown, take/release buttons."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'takeover.section': {'es': 'Atención', 'en': 'Handling'},
    'takeover.state.ai': {'es': 'IA', 'en': 'AI'},
    'takeover.state.waiting': {'es': 'Espera humano', 'en': 'Waiting for a person'},
    'takeover.state.offered': {'es': 'Ofrecida a {name}', 'en': 'Offered to {name}'},
    'takeover.state.assigned': {'es': 'Atiende {name}', 'en': '{name} is answering'},
    'takeover.state.closed': {'es': 'Cerrada', 'en': 'Closed'},
    'takeover.countdown': {'es': 'Se libera en {time}', 'en': 'Released in {time}'},
    'takeover.countdown_due': {'es': 'Liberándose…', 'en': 'Being released…'},
    'takeover.waiting_since': {'es': 'Espera un vendedor desde las {time}', 'en': 'Waiting for an agent since {time}'},
    'takeover.waiting_reason': {'es': 'Motivo: {reason}', 'en': 'Reason: {reason}'},
    'takeover.reason.timeout': {
        'es': 'el vendedor no respondió a tiempo',
        'en': 'the agent did not answer in time',
    },
    'takeover.reason.released': {'es': 'un vendedor la dejó en la cola', 'en': 'an agent left it in the queue'},
    'takeover.reason.ai_paused': {'es': 'IA pausada', 'en': 'AI paused'},
    # Why the AI asked for a person (services/assistant: HANDOFF_REASONS, and the watchdog's `unanswered`).
    'takeover.reason.customer_asked': {
        'es': 'el cliente pidió hablar con una persona',
        'en': 'the customer asked for a person',
    },
    'takeover.reason.purchase_intent': {'es': 'el cliente quiere comprar', 'en': 'the customer wants to buy'},
    'takeover.reason.engine_unsure': {'es': 'la IA no supo qué responder', 'en': 'the AI did not know what to answer'},
    'takeover.reason.unanswered': {
        'es': 'la IA no pudo responder a tiempo',
        'en': 'the AI could not answer in time',
    },
    'takeover.offer': {
        'es': 'Cliente fiel: ofrecida a {name} hasta las {time}',
        'en': 'Faithful customer: offered to {name} until {time}',
    },
    'takeover.faithful': {'es': 'Cliente fiel de {name}', 'en': "{name}'s faithful customer"},
    'takeover.take': {'es': 'Tomar', 'en': 'Take'},
    'takeover.release': {'es': 'Liberar', 'en': 'Release'},
    'takeover.release_queue': {'es': 'Dejar en cola', 'en': 'Leave in queue'},
    'takeover.ai_on': {'es': 'Activar IA', 'en': 'Turn AI on'},
    'takeover.ai_off': {'es': 'Pausar IA', 'en': 'Pause AI'},
    'takeover.reassign': {'es': 'Reasignar', 'en': 'Reassign'},
    'takeover.reassign_to': {'es': 'Reasignar a', 'en': 'Reassign to'},
    'takeover.cancel': {'es': 'Cancelar', 'en': 'Cancel'},
    'takeover.faithful_mark': {'es': 'Marcar cliente fiel', 'en': 'Mark as faithful customer'},
    'takeover.faithful_unmark': {'es': 'Quitar cliente fiel', 'en': 'Remove faithful mark'},
    'takeover.extend': {'es': 'Extender', 'en': 'Extend'},
    'takeover.close': {'es': 'Cerrar', 'en': 'Close'},
    'takeover.reopen': {'es': 'Reabrir', 'en': 'Reopen'},
    'takeover.error.already_taken': {'es': 'Ya la tomó {name}.', 'en': '{name} already took it.'},
    'takeover.error.offered_to_another': {
        'es': 'Está ofrecida a {name} (cliente fiel) hasta las {time}.',
        'en': 'It is offered to {name} (faithful customer) until {time}.',
    },
    'takeover.error.not_holder': {
        'es': 'La atiende {name}: pedile que la libere o a un encargado que la reasigne.',
        'en': '{name} is handling it: ask them to release it or a manager to reassign it.',
    },
    'takeover.error.invalid_transition': {
        'es': 'Eso no se puede hacer ahora: la conversación cambió. Mirá su estado.',
        'en': 'That cannot be done now: the conversation changed. Check its state.',
    },
    'takeover.error.conflict': {
        'es': 'El cliente ya tiene otra conversación abierta en este número.',
        'en': 'The customer already has another open conversation on this number.',
    },
    'takeover.error.send_held': {
        'es': 'La atiende {name}: para responder, pedile que la libere o a un encargado que te la reasigne.',
        'en': '{name} is handling it: to reply, ask them to release it or a manager to reassign it to you.',
    },
    'takeover.notify.assigned': {
        'es': 'Te asignaron la conversación con {name}.',
        'en': 'The conversation with {name} was assigned to you.',
    },
    'takeover.notify.offered': {
        'es': 'Tu cliente fiel {name} escribió: tomala antes de las {time}.',
        'en': 'Your faithful customer {name} wrote: take it before {time}.',
    },
    'takeover.notify.available': {
        'es': 'Disponible: {name} espera un vendedor.',
        'en': 'Available: {name} is waiting for an agent.',
    },
    'takeover.notify.released': {'es': 'Disponible: la conversación con {name}.', 'en': 'Available: {name}.'},
    'takeover.notify.lost': {
        'es': 'La conversación con {name} ya no está a tu cargo.',
        'en': 'The conversation with {name} is no longer yours.',
    },
    'takeover.history.take': {'es': '{user} la tomó', 'en': '{user} took it'},
    'takeover.history.rule': {'es': 'Asignada a {user} por la regla', 'en': 'Assigned to {user} by the rule'},
    'takeover.history.reassign': {'es': '{actor} la reasignó a {user}', 'en': '{actor} reassigned it to {user}'},
    'takeover.history.release': {'es': '{user} la liberó', 'en': '{user} released it'},
    'takeover.history.timeout': {
        'es': 'Se liberó por inactividad de {user}',
        'en': 'Released after {user} was inactive',
    },
    'takeover.history.ai_on': {'es': '{actor} activó la IA', 'en': '{actor} turned the AI on'},
    'takeover.history.ai_off': {'es': '{actor} pausó la IA', 'en': '{actor} paused the AI'},
    'takeover.history.handoff': {
        'es': 'La IA pidió un vendedor: {reason}',
        'en': 'The AI asked for an agent: {reason}',
    },
    'takeover.history.offer': {'es': 'Ofrecida a {user} (cliente fiel)', 'en': 'Offered to {user} (faithful customer)'},
    'takeover.history.offer_expired': {'es': '{user} no la tomó a tiempo', 'en': '{user} did not take it in time'},
    'takeover.history.faithful': {'es': 'Cliente fiel de {user}', 'en': "{user}'s faithful customer"},
    'takeover.history.faithful_cleared': {
        'es': '{actor} quitó el cliente fiel',
        'en': '{actor} removed the faithful mark',
    },
    'takeover.history.close': {'es': '{actor} la cerró', 'en': '{actor} closed it'},
    'takeover.history.reopen': {'es': '{actor} la reabrió', 'en': '{actor} reopened it'},
    'takeover.history.system': {'es': 'el sistema', 'en': 'the system'},
}
