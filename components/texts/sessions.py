"""WhatsApp-Web sessions (M6): the admin page, the alerts about them, the channel badge."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'alert.name.session_down': {'es': 'sesión de WhatsApp Web caída', 'en': 'WhatsApp Web session down'},
    'alert.session_down': {
        'es': 'Sesión de WhatsApp Web «{session_name}»: {state}. {action_text} Mientras tanto sus clientes escriben '
        'y nadie los lee.',
        'en': 'WhatsApp Web session "{session_name}": {state}. {action_text} Meanwhile its customers write and '
        'nobody reads them.',
    },
    'sessions.action.scan_qr': {
        'es': 'Escaneá el QR con el teléfono en Sesiones.',
        'en': 'Scan the QR with the phone in Sessions.',
    },
    'sessions.action.confirm_passkey': {
        'es': 'Confirmá la clave de acceso en el teléfono.',
        'en': 'Confirm the passkey on the phone.',
    },
    'sessions.action.restart': {
        'es': 'Falló {failures} veces seguidas al reiniciarse: revisá el gateway.',
        'en': 'It failed {failures} restarts in a row: check the gateway.',
    },
    'sessions.action.wait': {'es': 'Está iniciando.', 'en': 'It is starting.'},
    'sessions.action.start': {'es': 'Iniciala.', 'en': 'Start it.'},
    'sessions.action.check_gateway': {'es': 'El gateway no responde.', 'en': 'The gateway does not answer.'},
    'sessions.action.none': {'es': 'Funciona.', 'en': 'It works.'},
    'nav.sessions': {'es': 'Sesiones', 'en': 'Sessions'},
    'sessions.title': {'es': 'Sesiones de WhatsApp Web', 'en': 'WhatsApp Web sessions'},
    'sessions.intro': {
        'es': 'Números comunes de WhatsApp conectados por un gateway WAHA. Solo escuchan hasta que permitas el '
        'envío: WhatsApp puede bloquear un número que envía como un robot.',
        'en': 'Ordinary WhatsApp numbers connected through a WAHA gateway. They only listen until you allow '
        'sending: WhatsApp may ban a number that sends like a bot.',
    },
    'sessions.none': {
        'es': 'No hay sesiones. Agregá una con «leadmaster sessions add».',
        'en': 'No sessions. Add one with "leadmaster sessions add".',
    },
    'sessions.state.INITIALIZING': {'es': 'Iniciando', 'en': 'Starting'},
    'sessions.state.QR_REQUIRED': {'es': 'Falta escanear el QR', 'en': 'QR to scan'},
    'sessions.state.READY': {'es': 'Conectada', 'en': 'Connected'},
    'sessions.state.DISCONNECTED': {'es': 'Desconectada', 'en': 'Disconnected'},
    'sessions.state.FAILED': {'es': 'Con falla', 'en': 'Failed'},
    'sessions.branch': {'es': 'Sucursal', 'en': 'Branch'},
    'sessions.number': {'es': 'Número', 'en': 'Number'},
    'sessions.since': {'es': 'desde {when}', 'en': 'since {when}'},
    'sessions.last_event': {'es': 'Último evento: {when}', 'en': 'Last event: {when}'},
    'sessions.never': {'es': 'nunca', 'en': 'never'},
    'sessions.silent': {
        'es': 'Sin eventos hace rato en horario de atención: se está verificando.',
        'en': 'No events for a while in business hours: being checked.',
    },
    'sessions.start': {'es': 'Iniciar', 'en': 'Start'},
    'sessions.stop': {'es': 'Detener', 'en': 'Stop'},
    'sessions.restart': {'es': 'Reiniciar', 'en': 'Restart'},
    'sessions.logout': {'es': 'Cerrar sesión', 'en': 'Log out'},
    'sessions.logout_confirm': {
        'es': '¿Desvincular el teléfono? Para volver a usarla hay que escanear el QR de nuevo.',
        'en': 'Unlink the phone? Using it again needs the QR scanned again.',
    },
    'sessions.allow_send': {'es': 'Permitir enviar', 'en': 'Allow sending'},
    'sessions.allow_send_on': {
        'es': 'Envío permitido en «{session}», a ritmo humano.',
        'en': 'Sending allowed on "{session}", at a human pace.',
    },
    'sessions.allow_send_off': {'es': '«{session}» vuelve a solo escuchar.', 'en': '"{session}" listens only again.'},
    'sessions.qr_help': {
        'es': 'En el teléfono: WhatsApp › Dispositivos vinculados › Vincular un dispositivo, y escaneá este código. '
        'Se renueva solo.',
        'en': 'On the phone: WhatsApp › Linked devices › Link a device, and scan this code. It renews itself.',
    },
    'sessions.history': {'es': 'Historial', 'en': 'History'},
    'sessions.uptime': {'es': 'Disponibilidad por día', 'en': 'Uptime per day'},
    'sessions.failed': {'es': 'No se pudo: {error}', 'en': 'Could not: {error}'},
    'sessions.changed': {'es': '«{session}»: {state}.', 'en': '"{session}": {state}.'},
    'channel.waha': {'es': 'WhatsApp Web', 'en': 'WhatsApp Web'},
    'channel.waha_short': {'es': 'Web', 'en': 'Web'},
    'message.from_phone': {'es': 'desde el teléfono', 'en': 'from the phone'},
    'simulator_waha.title': {'es': 'WhatsApp Web (celular del local)', 'en': "WhatsApp Web (the shop's phone)"},
    'simulator_waha.help': {
        'es': 'El gateway simulado de la demo: escaneá el QR de una sesión como lo haría el celular, y escribí como '
        'un cliente a ese número.',
        'en': "The demo's simulated gateway: scan a session's QR as the phone would, and write to that number as a "
        'customer.',
    },
    'simulator_waha.none': {'es': 'No hay sesiones de WhatsApp Web.', 'en': 'No WhatsApp Web sessions.'},
    'simulator_waha.scan': {'es': 'Escanear con el teléfono', 'en': 'Scan with the phone'},
    'simulator_waha.scanned': {'es': 'QR escaneado: la sesión se conecta.', 'en': 'QR scanned: the session connects.'},
    'simulator_waha.customer': {'es': 'Cliente', 'en': 'Customer'},
    'simulator_waha.text': {'es': 'Mensaje', 'en': 'Message'},
}
