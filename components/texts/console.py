"""The console's layout and keys (SPEC C1, C5): the client panel as a drawer on a tablet, the keymap."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'console.panel.title': {'es': 'Cliente y acciones', 'en': 'Customer and actions'},
    'console.panel.show': {'es': 'Panel del cliente', 'en': 'Customer panel'},
    'console.panel.close': {'es': 'Cerrar el panel (Esc)', 'en': 'Close the panel (Esc)'},
    'console.key_hint': {'es': 'Atajo: {shortcut}', 'en': 'Shortcut: {shortcut}'},
    'console.keys.title': {'es': 'Atajos de teclado', 'en': 'Keyboard shortcuts'},
    'console.keys.neighbour': {
        'es': 'Abrir la conversación de arriba / de abajo',
        'en': 'Open the conversation above / below',
    },
    'console.keys.take': {'es': 'Tomar la conversación abierta', 'en': 'Take the open conversation'},
    'console.keys.release': {
        'es': 'Liberarla (vuelve a atender la IA)',
        'en': 'Release it (the AI answers again)',
    },
    'console.keys.panel': {'es': 'Mostrar u ocultar el panel del cliente', 'en': 'Show or hide the customer panel'},
    'console.keys.close': {'es': 'Cerrar el panel del cliente', 'en': 'Close the customer panel'},
    'console.keys.help': {'es': 'Ver estos atajos', 'en': 'Show these shortcuts'},
    'console.keys.ok': {'es': 'Entendido', 'en': 'Got it'},
    'console.keys.button': {'es': 'Atajos de teclado (?)', 'en': 'Keyboard shortcuts (?)'},
    'console.reason_other': {'es': 'otro motivo', 'en': 'another reason'},
}
