"""UI texts of the admin feature (es-AR first, English)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'admin.create': {'es': 'Crear', 'en': 'Create'},
    'admin.save': {'es': 'Guardar', 'en': 'Save'},
    'admin.saved': {'es': 'Cambios guardados.', 'en': 'Changes saved.'},
    # What a service refused, keyed by the `reason` it gives (services/users.py, branches.py, …).
    'admin.error.generic': {'es': 'No se pudo guardar: {error}', 'en': 'Could not save: {error}'},
    'admin.error.not_found': {
        'es': 'No existe o no lo podés ver.',
        'en': 'It does not exist, or you may not see it.',
    },
    'admin.error.permission': {'es': 'No tenés permiso para hacer eso.', 'en': 'You are not allowed to do that.'},
    'admin.error.name_required': {'es': 'Falta el nombre.', 'en': 'The name is required.'},
    'admin.error.branch_required': {
        'es': 'Elegí una sucursal: vendedores, encargados y números pertenecen a una.',
        'en': 'Choose a branch: agents, managers and numbers belong to one.',
    },
    'admin.error.branch_unknown': {'es': 'Esa sucursal no existe.', 'en': 'That branch does not exist.'},
    'admin.error.capacity_range': {
        'es': 'La capacidad va de 1 a 100 conversaciones a la vez.',
        'en': 'Capacity is 1 to 100 conversations at once.',
    },
    'admin.error.username_format': {
        'es': 'El usuario lleva de 2 a 64 letras minúsculas, números, puntos, guiones o guiones bajos, sin espacios.',
        'en': 'The username is 2 to 64 lower-case letters, digits, dots, hyphens or underscores, without spaces.',
    },
    'admin.error.username_taken': {
        'es': 'Ya existe el usuario «{username}».',
        'en': 'The username “{username}” is taken.',
    },
    'admin.error.password_short': {
        'es': 'La contraseña necesita al menos {minimum} caracteres (o dejala vacía y se genera una).',
        'en': 'The password needs at least {minimum} characters (or leave it blank to generate one).',
    },
    'admin.error.manager_agents_only': {
        'es': 'Un encargado solo administra vendedores de su sucursal.',
        'en': 'A manager only administers agents of their branch.',
    },
    'admin.error.other_branch': {
        'es': 'Esa sucursal no es la tuya.',
        'en': 'That branch is not yours.',
    },
    'admin.error.self_change': {
        'es': 'No podés desactivar tu propia cuenta ni cambiarte el rol.',
        'en': 'You cannot deactivate your own account or change your own role.',
    },
    'admin.error.branch_code_format': {
        'es': 'El código lleva letras y números (y guiones), hasta 16, por ejemplo SUC4.',
        'en': 'The code is letters and digits (and hyphens), up to 16, e.g. SUC4.',
    },
    'admin.error.branch_code_taken': {
        'es': 'Ya existe la sucursal {code}.',
        'en': 'Branch {code} already exists.',
    },
    'admin.error.phone_invalid': {
        'es': 'No es un número de teléfono válido. Escribilo con código de país, por ejemplo +54 9 11 5000-0101.',
        'en': 'Not a valid phone number. Write it with the country code, e.g. +54 9 11 5000-0101.',
    },
    'admin.error.phone_number_id_required': {
        'es': 'Falta el phone_number_id (Cloud API) o el nombre de la sesión.',
        'en': 'The phone_number_id (Cloud API) or the session name is required.',
    },
    'admin.error.phone_number_id_taken': {
        'es': 'El phone_number_id {phone_number_id} ya está cargado.',
        'en': 'phone_number_id {phone_number_id} is already configured.',
    },
    'admin.error.number_required': {'es': 'Elegí un número.', 'en': 'Choose a number.'},
    'admin.error.template_name_format': {
        'es': 'El nombre de la plantilla lleva minúsculas, números y guiones bajos, como en Meta.',
        'en': "A template name is lower-case letters, digits and underscores, as in Meta's manager.",
    },
    'admin.error.language_format': {
        'es': 'El idioma es un código de Meta, por ejemplo es_AR o es.',
        'en': "The language is Meta's code, e.g. es_AR or en_US.",
    },
    'admin.error.category_unknown': {
        'es': 'La categoría es UTILITY, MARKETING o AUTHENTICATION.',
        'en': 'The category is UTILITY, MARKETING or AUTHENTICATION.',
    },
    'admin.error.placeholders_gap': {
        'es': 'Las variables van numeradas {{1}}, {{2}}… sin saltear ninguna.',
        'en': 'Variables are numbered {{1}}, {{2}}… without gaps.',
    },
    'admin.error.template_taken': {
        'es': 'Ese número ya tiene la plantilla {name} en {language}.',
        'en': 'That number already has template {name} in {language}.',
    },
    'admin.error.waba_missing': {
        'es': 'Cargale al número el ID de la cuenta de WhatsApp Business (WABA) para sincronizar.',
        'en': "Set the number's WhatsApp Business Account id (WABA) to sync.",
    },
    'admin.error.sync_unreachable': {
        'es': 'No se pudo conectar con Meta. Probá de nuevo en un rato.',
        'en': 'Could not reach Meta. Try again in a while.',
    },
    'admin.error.sync_refused': {'es': 'Meta rechazó la consulta: {detail}', 'en': 'Meta refused: {detail}'},
    'admin.error.shortcut_format': {
        'es': 'El atajo lleva minúsculas, números, - o _, hasta 32, sin espacios (por ejemplo: horarios).',
        'en': 'The shortcut is lower-case letters, digits, - or _, up to 32, no spaces (e.g. hours).',
    },
    'admin.error.shortcut_taken': {
        'es': 'Ya hay una respuesta /{shortcut} para esa sucursal.',
        'en': 'There is already a /{shortcut} reply for that branch.',
    },
    'admin.error.title_required': {'es': 'Falta el título.', 'en': 'The title is required.'},
    'admin.error.body_required': {'es': 'Falta el texto.', 'en': 'The text is required.'},
    'admin.error.date_format': {
        'es': '«{value}» no es una fecha: escribila como dd/mm/aaaa.',
        'en': '“{value}” is not a date: write it as dd/mm/yyyy.',
    },
    # branches
    'admin.branches.new': {'es': 'Nueva sucursal', 'en': 'New branch'},
    'admin.branches.edit': {'es': 'Sucursal {code}', 'en': 'Branch {code}'},
    'admin.branches.address': {'es': 'Dirección', 'en': 'Address'},
    'admin.branches.code_hint': {
        'es': 'Corto y sin espacios, por ejemplo SUC4: va en los números de presupuesto.',
        'en': 'Short, no spaces, e.g. SUC4: it goes in quote numbers.',
    },
    'admin.branches.active': {
        'es': 'Activa (desactivada: no se le asignan usuarios ni números nuevos)',
        'en': 'Active (deactivated: no new users or numbers are assigned to it)',
    },
    'admin.branches.created': {'es': 'Sucursal {code} creada.', 'en': 'Branch {code} created.'},
    # users
    'admin.users.new': {'es': 'Nuevo usuario', 'en': 'New user'},
    'admin.users.edit': {'es': 'Usuario {username}', 'en': 'User {username}'},
    'admin.users.open_hint': {
        'es': 'Tocá una fila para editar, desactivar, restablecer la contraseña o desbloquear.',
        'en': 'Click a row to edit, deactivate, reset the password or unlock.',
    },
    'admin.users.capacity': {'es': 'Capacidad', 'en': 'Capacity'},
    'admin.users.capacity_hint': {
        'es': 'Conversaciones que atiende a la vez (1 a 100).',
        'en': 'Conversations held at once (1 to 100).',
    },
    'admin.users.username_hint': {
        'es': 'Para iniciar sesión: minúsculas, sin espacios (por ejemplo lucia.p).',
        'en': 'To sign in: lower case, no spaces (e.g. lucia.p).',
    },
    'admin.users.password': {'es': 'Contraseña', 'en': 'Password'},
    'admin.users.password_hint': {
        'es': 'Vacía: se genera una y se muestra una sola vez.',
        'en': 'Blank: one is generated and shown once.',
    },
    'admin.users.password_once': {
        'es': 'Contraseña de {username}: {password} — pasásela ahora, no se vuelve a mostrar.',
        'en': "{username}'s password: {password} — hand it over now, it is not shown again.",
    },
    'admin.users.created': {'es': 'Usuario {username} creado.', 'en': 'User {username} created.'},
    'admin.users.active_switch': {
        'es': 'Activo (desactivado: no puede iniciar sesión y se cierran sus sesiones)',
        'en': 'Active (deactivated: cannot sign in, and their sessions end)',
    },
    'admin.users.lock': {'es': 'Bloqueo', 'en': 'Lockout'},
    'admin.users.locked_until': {
        'es': 'Bloqueado hasta las {time} por intentos fallidos',
        'en': 'Locked until {time} after failed logins',
    },
    'admin.users.reset_password': {'es': 'Restablecer contraseña', 'en': 'Reset password'},
    'admin.users.unlock': {'es': 'Desbloquear', 'en': 'Unlock'},
    'admin.users.unlocked': {
        'es': '{username} ya puede volver a iniciar sesión.',
        'en': '{username} may sign in again.',
    },
    # numbers
    'admin.numbers.title': {'es': 'Números de WhatsApp', 'en': 'WhatsApp numbers'},
    'admin.numbers.intro': {
        'es': 'Cada número lleva los mensajes a una sucursal. Tocá una fila para moverlo, editarlo o desactivarlo.',
        'en': 'Each number routes messages to a branch. Click a row to move, edit or deactivate it.',
    },
    'admin.numbers.new': {'es': 'Nuevo número', 'en': 'New number'},
    'admin.numbers.edit': {'es': 'Número {number} ({id})', 'en': 'Number {number} ({id})'},
    'admin.numbers.fixed': {
        'es': 'Canal: {channel}. El canal y el phone_number_id no cambian: para otro, agregá un número nuevo.',
        'en': 'Channel: {channel}. The channel and phone_number_id stay: for another one, add a new number.',
    },
    'admin.numbers.display': {'es': 'Número visible', 'en': 'Display number'},
    'admin.numbers.display_hint': {
        'es': 'Con código de país: +54 9 11 5000-0101. Se aceptan los de prueba de Meta (+1 555 …).',
        'en': "With the country code: +54 9 11 5000-0101. Meta's test numbers (+1 555 …) are accepted.",
    },
    'admin.numbers.phone_number_id': {'es': 'phone_number_id / sesión', 'en': 'phone_number_id / session'},
    'admin.numbers.id_hint': {
        'es': 'Cloud API: el phone_number_id de Meta. WhatsApp Web: el nombre de la sesión.',
        'en': "Cloud API: Meta's phone_number_id. WhatsApp Web: the session name.",
    },
    'admin.numbers.label': {'es': 'Etiqueta', 'en': 'Label'},
    'admin.numbers.waba_id': {'es': 'ID de WABA (opcional)', 'en': 'WABA id (optional)'},
    'admin.numbers.waba_hint': {
        'es': 'Cuenta de WhatsApp Business: hace falta para sincronizar plantillas.',
        'en': 'WhatsApp Business Account: needed to sync templates.',
    },
    'admin.numbers.active': {
        'es': 'Activo (desactivado: sus mensajes quedan en la página de webhooks)',
        'en': 'Active (deactivated: its messages wait on the webhooks page)',
    },
    'admin.numbers.created': {'es': 'Número {number} agregado.', 'en': 'Number {number} added.'},
    'admin.channel.cloud': {'es': 'Cloud API (oficial)', 'en': 'Cloud API (official)'},
    'admin.channel.waha': {'es': 'WhatsApp Web (sesión)', 'en': 'WhatsApp Web (session)'},
    'admin.channel.simulator': {'es': 'Simulador', 'en': 'Simulator'},
    # templates
    'admin.templates.title': {'es': 'Plantillas de WhatsApp', 'en': 'WhatsApp templates'},
    'admin.templates.intro': {
        'es': 'Pasadas las 24 h del último mensaje del cliente solo se pueden enviar plantillas aprobadas por Meta.',
        'en': "After 24 h from the customer's last message only templates approved by Meta may be sent.",
    },
    'admin.templates.new': {'es': 'Nueva plantilla', 'en': 'New template'},
    'admin.templates.edit': {'es': 'Plantilla {name} ({language})', 'en': 'Template {name} ({language})'},
    'admin.templates.pause_hint': {
        'es': 'Para dejar de usarla, pasala a «Pausada»: solo se envían las aprobadas.',
        'en': 'To stop using it, set it to “Paused”: only approved ones are sent.',
    },
    'admin.templates.number': {'es': 'Número', 'en': 'Number'},
    'admin.templates.language': {'es': 'Idioma', 'en': 'Language'},
    'admin.templates.category': {'es': 'Categoría', 'en': 'Category'},
    'admin.templates.status': {'es': 'Estado', 'en': 'Status'},
    'admin.templates.variables': {'es': 'Variables', 'en': 'Variables'},
    'admin.templates.body': {'es': 'Texto', 'en': 'Body'},
    'admin.templates.body_hint': {
        'es': 'Variables como {{1}}, {{2}}…, igual que en Meta.',
        'en': "Variables as {{1}}, {{2}}…, as in Meta's manager.",
    },
    'admin.templates.name_hint': {
        'es': 'El nombre exacto en Meta: minúsculas y guiones bajos.',
        'en': 'The exact name at Meta: lower case and underscores.',
    },
    'admin.templates.created': {'es': 'Plantilla {name} cargada.', 'en': 'Template {name} registered.'},
    'admin.templates.sync': {'es': 'Sincronizar', 'en': 'Sync'},
    'admin.templates.synced': {
        'es': 'Sincronizado con Meta: {added} nuevas, {updated} actualizadas, {same} sin cambios.',
        'en': 'Synced with Meta: {added} new, {updated} updated, {same} unchanged.',
    },
    'admin.templates.status.APPROVED': {'es': 'Aprobada', 'en': 'Approved'},
    'admin.templates.status.PENDING': {'es': 'Pendiente', 'en': 'Pending'},
    'admin.templates.status.REJECTED': {'es': 'Rechazada', 'en': 'Rejected'},
    'admin.templates.status.PAUSED': {'es': 'Pausada', 'en': 'Paused'},
    # quick replies
    'admin.canned.title': {'es': 'Respuestas rápidas', 'en': 'Quick replies'},
    'admin.canned.intro': {
        'es': 'Los vendedores las insertan escribiendo / y el atajo. Las de «hours», «shipping» y «address» '
        'también las usa el asistente para contestar.',
        'en': 'Agents insert them by typing / and the shortcut. The assistant also answers with "hours", '
        '"shipping" and "address".',
    },
    'admin.canned.new': {'es': 'Nueva respuesta rápida', 'en': 'New quick reply'},
    'admin.canned.edit': {'es': 'Respuesta /{shortcut}', 'en': 'Reply /{shortcut}'},
    'admin.canned.shortcut': {'es': 'Atajo', 'en': 'Shortcut'},
    'admin.canned.shortcut_hint': {
        'es': 'Sin la barra: por ejemplo horarios.',
        'en': 'Without the slash: e.g. hours.',
    },
    'admin.canned.title_field': {'es': 'Título', 'en': 'Title'},
    'admin.canned.body': {'es': 'Texto', 'en': 'Text'},
    'admin.canned.every_branch': {'es': 'Todas las sucursales', 'en': 'Every branch'},
    'admin.canned.created': {'es': 'Respuesta /{shortcut} creada.', 'en': 'Reply /{shortcut} created.'},
    'admin.canned.delete': {'es': 'Borrar respuesta', 'en': 'Delete reply'},
    # API keys
    'admin.apikeys.title': {'es': 'Claves de API', 'en': 'API keys'},
    'admin.apikeys.intro': {
        'es': 'Para conectar otros sistemas a la API. La clave se muestra una sola vez; una clave de sucursal '
        'solo ve esa sucursal.',
        'en': 'To connect other systems to the API. The key is shown once; a branch key sees that branch only.',
    },
    'admin.apikeys.new': {'es': 'Nueva clave', 'en': 'New key'},
    'admin.apikeys.name': {'es': 'Para qué es', 'en': 'What it is for'},
    'admin.apikeys.name_hint': {'es': 'Por ejemplo: ERP de la sucursal', 'en': "E.g. the branch's ERP"},
    'admin.apikeys.scope': {'es': 'Alcance', 'en': 'Scope'},
    'admin.apikeys.all_branches': {'es': 'Todas las sucursales', 'en': 'All branches'},
    'admin.apikeys.prefix': {'es': 'Prefijo', 'en': 'Prefix'},
    'admin.apikeys.created_at': {'es': 'Creada', 'en': 'Created'},
    'admin.apikeys.last_used': {'es': 'Último uso', 'en': 'Last used'},
    'admin.apikeys.state': {'es': 'Estado', 'en': 'State'},
    'admin.apikeys.active': {'es': 'Activa', 'en': 'Active'},
    'admin.apikeys.revoked': {'es': 'Revocada', 'en': 'Revoked'},
    'admin.apikeys.once': {
        'es': 'Clave nueva: {api_key} — copiala ahora, no se vuelve a mostrar.',
        'en': 'New key: {api_key} — copy it now, it is not shown again.',
    },
    'admin.apikeys.revoke_title': {'es': 'Revocar una clave', 'en': 'Revoke a key'},
    'admin.apikeys.revoke': {'es': 'Revocar', 'en': 'Revoke'},
    'admin.apikeys.revoked_notice': {'es': 'Clave {prefix} revocada.', 'en': 'Key {prefix} revoked.'},
    'admin.webhooks.add_number': {
        'es': 'Agregar un número (Administración › Números)',
        'en': 'Add a number (Administration › Numbers)',
    },
    # audit
    'admin.audit.title': {'es': 'Auditoría', 'en': 'Audit log'},
    'admin.audit.actor': {'es': 'Quién', 'en': 'Who'},
    'admin.audit.action': {'es': 'Acción', 'en': 'Action'},
    'admin.audit.kind': {'es': 'Sobre qué', 'en': 'Record'},
    'admin.audit.any_kind': {'es': 'Cualquiera', 'en': 'Any'},
    'admin.audit.since': {'es': 'Desde', 'en': 'From'},
    'admin.audit.until': {'es': 'Hasta', 'en': 'Until'},
    'admin.audit.filter': {'es': 'Filtrar', 'en': 'Filter'},
    'admin.audit.details': {'es': 'Detalles', 'en': 'Details'},
    'admin.audit.position': {
        'es': 'Página {page} de {pages} · {total} registros',
        'en': 'Page {page} of {pages} · {total} entries',
    },
}
