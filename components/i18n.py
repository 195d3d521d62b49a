"""UI text in Spanish (es-AR, the default) and English.

Why not gettext: the UI has a few hundred strings and no translators; a dict keeps each phrase
and its translation side by side, and a test checks every key has both languages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import app

LOCALES = ('es', 'en')
_default_locale = 'es'
_display_zone = ZoneInfo('America/Argentina/Buenos_Aires')


def configure(*, default_locale: str, display_timezone: str) -> None:
    """Called once at start with `LEADMASTER_DEFAULT_LOCALE` and `LEADMASTER_DISPLAY_TIMEZONE`."""
    global _default_locale, _display_zone  # noqa: PLW0603 - process-wide settings, written once at start
    _default_locale = default_locale if default_locale in LOCALES else 'es'
    _display_zone = ZoneInfo(display_timezone)


def local_time(moment: datetime | None, pattern: str = '%d/%m %H:%M') -> str:
    """A stored UTC moment as the branch staff read it (Argentina by default)."""
    return moment.astimezone(_display_zone).strftime(pattern) if moment else ''

TEXTS: dict[str, dict[str, str]] = {
    'app.name': {'es': 'LeadMaster', 'en': 'LeadMaster'},
    'login.title': {'es': 'Ingresar', 'en': 'Sign in'},
    'login.subtitle': {'es': 'Mesa de ventas por WhatsApp', 'en': 'WhatsApp sales desk'},
    'login.username': {'es': 'Usuario', 'en': 'Username'},
    'login.password': {'es': 'Contraseña', 'en': 'Password'},
    'login.submit': {'es': 'Ingresar', 'en': 'Sign in'},
    'login.invalid': {'es': 'Usuario o contraseña incorrectos.', 'en': 'Wrong username or password.'},
    'login.locked': {
        'es': 'Demasiados intentos fallidos. Probá de nuevo en {minutes} min.',
        'en': 'Too many failed attempts. Try again in {minutes} min.',
    },
    'login.required': {'es': 'Completá usuario y contraseña.', 'en': 'Enter username and password.'},
    'login.unavailable': {
        'es': 'No se puede acceder a la base de datos. Avisá al administrador.',
        'en': 'The database is unreachable. Tell your administrator.',
    },
    'nav.conversations': {'es': 'Bandeja', 'en': 'Inbox'},
    'nav.branches': {'es': 'Sucursales', 'en': 'Branches'},
    'nav.users': {'es': 'Usuarios', 'en': 'Users'},
    'nav.webhooks': {'es': 'Webhooks', 'en': 'Webhooks'},
    'nav.simulator': {'es': 'Simulador', 'en': 'Simulator'},
    'webhooks.unroutable': {'es': 'Mensajes sin sucursal', 'en': 'Messages without a branch'},
    'webhooks.unroutable_help': {
        'es': 'Llegaron a un phone_number_id que ninguna sucursal tiene. Agregá el número y reprocesá.',
        'en': 'They arrived for a phone_number_id no branch owns. Add the number, then replay.',
    },
    'webhooks.display': {'es': 'Número', 'en': 'Number'},
    'webhooks.messages': {'es': 'Mensajes', 'en': 'Messages'},
    'webhooks.statuses': {'es': 'Estados', 'en': 'Statuses'},
    'webhooks.problems': {'es': 'Webhooks con problemas', 'en': 'Webhooks with problems'},
    'webhooks.status': {'es': 'Estado', 'en': 'Status'},
    'webhooks.error': {'es': 'Detalle', 'en': 'Detail'},
    'webhooks.replay': {'es': 'Reprocesar', 'en': 'Replay'},
    'webhooks.replayed': {'es': '{count} webhooks reprocesándose.', 'en': '{count} webhooks being replayed.'},
    'nav.logout': {'es': 'Salir', 'en': 'Sign out'},
    'header.all_branches': {'es': 'Todas las sucursales', 'en': 'All branches'},
    'header.branch': {'es': 'Sucursal', 'en': 'Branch'},
    'header.language': {'es': 'Idioma', 'en': 'Language'},
    'role.agent': {'es': 'Vendedor', 'en': 'Agent'},
    'role.manager': {'es': 'Encargado', 'en': 'Manager'},
    'role.admin': {'es': 'Administrador', 'en': 'Admin'},
    'forbidden.title': {'es': 'Sin permiso', 'en': 'Not allowed'},
    'forbidden.body': {
        'es': 'Tu rol no tiene acceso a esta página.', 'en': 'Your role does not give access to this page.',
    },
    'conversations.title': {'es': 'Conversaciones recientes', 'en': 'Recent conversations'},
    'conversations.empty': {'es': 'No hay conversaciones todavía.', 'en': 'No conversations yet.'},
    'conversations.contact': {'es': 'Cliente', 'en': 'Customer'},
    'conversations.branch': {'es': 'Sucursal', 'en': 'Branch'},
    'conversations.mode': {'es': 'Atiende', 'en': 'Handled by'},
    'conversations.assigned': {'es': 'Asignada a', 'en': 'Assigned to'},
    'conversations.last': {'es': 'Último mensaje', 'en': 'Last message'},
    'conversations.unread': {'es': 'Sin leer', 'en': 'Unread'},
    'conversations.when': {'es': 'Hora', 'en': 'Time'},
    'mode.ai': {'es': 'IA', 'en': 'AI'},
    'mode.human': {'es': 'Humano', 'en': 'Human'},
    'branches.title': {'es': 'Sucursales y números', 'en': 'Branches and numbers'},
    'branches.code': {'es': 'Código', 'en': 'Code'},
    'branches.name': {'es': 'Nombre', 'en': 'Name'},
    'branches.city': {'es': 'Ciudad', 'en': 'City'},
    'branches.numbers': {'es': 'Números de WhatsApp', 'en': 'WhatsApp numbers'},
    'branches.channel': {'es': 'Canal', 'en': 'Channel'},
    'users.title': {'es': 'Usuarios', 'en': 'Users'},
    'users.username': {'es': 'Usuario', 'en': 'Username'},
    'users.name': {'es': 'Nombre', 'en': 'Name'},
    'users.role': {'es': 'Rol', 'en': 'Role'},
    'users.branch': {'es': 'Sucursal', 'en': 'Branch'},
    'users.active': {'es': 'Activo', 'en': 'Active'},
    'simulator.title': {'es': 'Simulador de WhatsApp', 'en': 'WhatsApp simulator'},
    'simulator.subtitle': {
        'es': 'Escribí como un cliente a un número de sucursal; las respuestas llegan acá.',
        'en': "Write as a customer to a branch number; the replies arrive here.",
    },
    'simulator.disabled': {
        'es': 'El simulador solo está disponible cuando no hay un token de Meta configurado.',
        'en': 'The simulator is only available when no Meta token is configured.',
    },
    'simulator.no_numbers': {
        'es': 'No hay números de simulador. Agregá uno con `leadmaster numbers add --channel simulator`.',
        'en': 'No simulator numbers. Add one with `leadmaster numbers add --channel simulator`.',
    },
    'simulator.number': {'es': 'Número de la sucursal', 'en': 'Branch number'},
    'simulator.name': {'es': 'Tu nombre', 'en': 'Your name'},
    'simulator.phone': {'es': 'Tu teléfono', 'en': 'Your phone'},
    'simulator.bad_phone': {'es': 'Ese teléfono no es válido.', 'en': 'That phone number is not valid.'},
    'simulator.write': {'es': 'Escribí un mensaje', 'en': 'Type a message'},
    'simulator.photo': {'es': 'Enviar foto o PDF', 'en': 'Send photo or PDF'},
    'simulator.sample_vin': {'es': 'Foto de VIN de ejemplo', 'en': 'Sample VIN photo'},
    'simulator.kind.image': {'es': '📷 Foto', 'en': '📷 Photo'},
    'simulator.kind.document': {'es': '📄 Documento', 'en': '📄 Document'},
    'simulator.kind.template': {'es': '📋 Plantilla', 'en': '📋 Template'},
    'inbox.title': {'es': 'Bandeja', 'en': 'Inbox'},
    'inbox.search': {'es': 'Buscar nombre, teléfono o mensaje', 'en': 'Search name, phone or message'},
    'inbox.status.open': {'es': 'Abiertas', 'en': 'Open'},
    'inbox.status.closed': {'es': 'Cerradas', 'en': 'Closed'},
    'inbox.status.all': {'es': 'Todas', 'en': 'All'},
    'inbox.assignment.all': {'es': 'Todas', 'en': 'All'},
    'inbox.assignment.mine': {'es': 'Mías', 'en': 'Mine'},
    'inbox.assignment.unassigned': {'es': 'Sin asignar', 'en': 'Unassigned'},
    'inbox.mode.any': {'es': 'IA y humano', 'en': 'AI and human'},
    'inbox.unread_only': {'es': 'Sin leer', 'en': 'Unread'},
    'inbox.label': {'es': 'Etiqueta', 'en': 'Label'},
    'inbox.more': {'es': 'Cargar más', 'en': 'Load more'},
    'inbox.empty': {'es': 'No hay conversaciones con estos filtros.', 'en': 'No conversations match these filters.'},
    'inbox.pick': {'es': 'Elegí una conversación.', 'en': 'Pick a conversation.'},
    'inbox.waiting': {'es': 'espera {minutes} min', 'en': 'waiting {minutes} min'},
    'inbox.sound': {'es': 'Sonido y avisos', 'en': 'Sound and alerts'},
    'inbox.new_message': {'es': 'Mensaje de {name}', 'en': 'Message from {name}'},
    'inbox.new_conversation': {'es': 'Nueva conversación: {name}', 'en': 'New conversation: {name}'},
    'chat.older': {'es': 'Mensajes anteriores', 'en': 'Older messages'},
    'chat.customer': {'es': 'Cliente', 'en': 'Customer'},
    'chat.ai': {'es': 'Asistente IA', 'en': 'AI assistant'},
    'chat.system': {'es': 'Sistema', 'en': 'System'},
    'chat.state.ai': {'es': 'Atiende la IA', 'en': 'AI is answering'},
    'chat.state.human': {'es': 'Atiende {name}', 'en': '{name} is answering'},
    'chat.state.human_unassigned': {'es': 'Humano', 'en': 'Human'},
    'chat.state.waiting': {'es': 'Esperando respuesta', 'en': 'Waiting for a reply'},
    'chat.state.expired': {'es': 'Ventana de 24 h vencida', 'en': '24 h window expired'},
    'chat.window_open': {'es': 'Podés escribir hasta las {time}', 'en': 'Free text allowed until {time}'},
    'chat.window_closed': {
        'es': 'Pasaron más de 24 h desde el último mensaje del cliente: solo se pueden enviar plantillas aprobadas.',
        'en': "More than 24 h since the customer's last message: only approved templates can be sent.",
    },
    'chat.write': {
        'es': 'Escribí una respuesta (/ para respuestas rápidas)', 'en': 'Write a reply (/ for quick replies)',
    },
    'chat.send': {'es': 'Enviar', 'en': 'Send'},
    'chat.template': {'es': 'Plantilla', 'en': 'Template'},
    'chat.variable': {'es': 'Variable {n}', 'en': 'Variable {n}'},
    'chat.send_template': {'es': 'Enviar plantilla', 'en': 'Send template'},
    'chat.no_templates': {
        'es': 'Este número no tiene plantillas aprobadas.', 'en': 'This number has no approved templates.',
    },
    'chat.viewing': {'es': '{names} está viendo', 'en': '{names} is viewing'},
    'chat.typing': {'es': '{names} está escribiendo…', 'en': '{names} is typing…'},
    'chat.confirm_title': {'es': '{names} está escribiendo', 'en': '{names} is typing'},
    'chat.confirm_body': {
        'es': 'Otro vendedor está respondiendo esta conversación. ¿Enviar igual?',
        'en': 'Another agent is answering this conversation. Send anyway?',
    },
    'chat.send_anyway': {'es': 'Enviar igual', 'en': 'Send anyway'},
    'chat.cancel': {'es': 'Cancelar', 'en': 'Cancel'},
    'chat.failed': {'es': 'No enviado: {reason}', 'en': 'Not sent: {reason}'},
    'chat.retrying': {'es': 'Reintentando: {reason}', 'en': 'Retrying: {reason}'},
    'chat.unconfirmed': {'es': 'Envío sin confirmar', 'en': 'Delivery not confirmed'},
    'chat.open_file': {'es': 'Abrir archivo', 'en': 'Open file'},
    'chat.location': {'es': 'Ubicación', 'en': 'Location'},
    'chat.media_pending': {'es': 'Descargando archivo…', 'en': 'Downloading file…'},
    'chat.media_failed': {'es': 'No se pudo descargar el archivo', 'en': 'The file could not be downloaded'},
    'chat.kind.image': {'es': '📷 Foto', 'en': '📷 Photo'},
    'chat.kind.audio': {'es': '🎤 Audio', 'en': '🎤 Audio'},
    'chat.kind.video': {'es': '🎬 Video', 'en': '🎬 Video'},
    'chat.kind.document': {'es': '📄 Documento', 'en': '📄 Document'},
    'chat.kind.sticker': {'es': 'Sticker', 'en': 'Sticker'},
    'chat.kind.location': {'es': '📍 Ubicación', 'en': '📍 Location'},
    'chat.kind.contacts': {'es': '👤 Contacto', 'en': '👤 Contact'},
    'chat.kind.reaction': {'es': 'Reacción', 'en': 'Reaction'},
    'chat.kind.template': {'es': '📋 Plantilla', 'en': '📋 Template'},
    'chat.kind.unsupported': {'es': 'Mensaje no soportado', 'en': 'Unsupported message'},
    'panel.contact': {'es': 'Cliente', 'en': 'Customer'},
    'panel.name': {'es': 'Nombre', 'en': 'Name'},
    'panel.whatsapp_name': {'es': 'Nombre en WhatsApp: {name}', 'en': 'WhatsApp name: {name}'},
    'panel.email': {'es': 'E-mail', 'en': 'E-mail'},
    'panel.notes': {'es': 'Notas', 'en': 'Notes'},
    'panel.save': {'es': 'Guardar', 'en': 'Save'},
    'panel.saved': {'es': 'Datos guardados.', 'en': 'Saved.'},
    'panel.labels': {'es': 'Etiquetas', 'en': 'Labels'},
    'panel.history': {'es': 'Quién la atendió', 'en': 'Who attended'},
    'panel.no_history': {'es': 'Nadie todavía.', 'en': 'Nobody yet.'},
    'common.yes': {'es': 'Sí', 'en': 'Yes'},
    'common.no': {'es': 'No', 'en': 'No'},
    'common.none': {'es': '—', 'en': '—'},
}


def current_locale() -> str:
    """The locale chosen in this browser, else the default; outside a page (tests, CLI) the default."""
    try:
        locale = app.storage.user.get('locale')
    except (RuntimeError, AssertionError):
        return _default_locale
    return locale if locale in LOCALES else _default_locale


def t(key: str, **params: Any) -> str:
    entry = TEXTS.get(key)
    if entry is None:
        return key  # visible in the UI and caught by the i18n test, rather than crashing a page
    text = entry.get(current_locale()) or entry['es']
    return text.format(**params) if params else text
