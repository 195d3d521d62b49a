"""UI texts of the per-branch settings page (B1, T2, T4, S3, A1/A2; issue 15), es-AR first, English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    'settings.title': {'es': 'Configuración de la sucursal', 'en': 'Branch settings'},
    'settings.branch': {'es': 'Sucursal', 'en': 'Branch'},
    'settings.no_branch': {
        'es': 'No tenés una sucursal para configurar.',
        'en': 'You have no branch to configure.',
    },
    'settings.section.takeover': {'es': 'Atención y asignación', 'en': 'Handling and assignment'},
    'settings.section.hours': {'es': 'Horario de atención', 'en': 'Opening hours'},
    'settings.section.sales': {'es': 'Presupuestos y ventas', 'en': 'Quotes and sales'},
    'settings.section.assistant': {'es': 'Asistente (IA)', 'en': 'Assistant (AI)'},
    'settings.takeover_timeout_seconds': {
        'es': 'Liberar una conversación sin actividad del vendedor después de (segundos)',
        'en': 'Release a conversation with no agent activity after (seconds)',
    },
    'settings.assignment_rule': {'es': 'Regla de asignación', 'en': 'Assignment rule'},
    'settings.rule.manual': {'es': 'Manual (el vendedor la toma)', 'en': 'Manual (agents take it)'},
    'settings.rule.round_robin': {'es': 'Por turnos entre los conectados', 'en': 'Round robin among online agents'},
    'settings.rule.least_busy': {'es': 'Al menos ocupado', 'en': 'Least busy'},
    'settings.faithful_offer_enabled': {
        'es': 'Cliente fiel: ofrecer primero a su vendedor',
        'en': 'Faithful customer: offer to their agent first',
    },
    'settings.faithful_offer_seconds': {
        'es': 'Segundos que se le ofrece (vacío: {default}, el valor general)',
        'en': 'Seconds it is offered for (empty: {default}, the general value)',
    },
    'settings.hours_help': {
        'es': 'Formato HH:MM. Dejá un día vacío si no abre. Sin ningún día cargado se considera siempre abierta.',
        'en': 'Format HH:MM. Leave a day empty if closed. With no day set the branch counts as always open.',
    },
    'settings.open': {'es': 'Abre', 'en': 'Opens'},
    'settings.close': {'es': 'Cierra', 'en': 'Closes'},
    'settings.day.mon': {'es': 'Lunes', 'en': 'Monday'},
    'settings.day.tue': {'es': 'Martes', 'en': 'Tuesday'},
    'settings.day.wed': {'es': 'Miércoles', 'en': 'Wednesday'},
    'settings.day.thu': {'es': 'Jueves', 'en': 'Thursday'},
    'settings.day.fri': {'es': 'Viernes', 'en': 'Friday'},
    'settings.day.sat': {'es': 'Sábado', 'en': 'Saturday'},
    'settings.day.sun': {'es': 'Domingo', 'en': 'Sunday'},
    'settings.iva_default_rate': {
        'es': 'IVA de las líneas cargadas a mano (%)',
        'en': 'IVA of lines typed by hand (%)',
    },
    'settings.commission_rate': {
        'es': 'Comisión por defecto sobre ventas netas (%, vacío: sin comisión)',
        'en': 'Default commission on net sales (%, empty: none)',
    },
    'settings.quote_valid_days': {'es': 'Validez de los presupuestos (días)', 'en': 'Quotes valid for (days)'},
    'settings.ai_sends_quotes': {
        'es': 'La IA puede enviar presupuestos sin que un vendedor los confirme',
        'en': 'The AI may send quotes without an agent confirming them',
    },
    'settings.assistant_enabled': {
        'es': 'El asistente responde a los clientes de esta sucursal',
        'en': "The assistant answers this branch's customers",
    },
    'settings.assistant_engine': {'es': 'Motor', 'en': 'Engine'},
    'settings.engine.default': {'es': 'El general del sistema', 'en': "The system's default"},
    'settings.engine.rule': {'es': 'Reglas (sin conexión, gratis)', 'en': 'Rules (offline, free)'},
    'settings.engine.llm': {'es': 'LLM (compatible con OpenAI)', 'en': 'LLM (OpenAI-compatible)'},
    'settings.llm_base_url': {
        'es': 'URL base del LLM (vacío: {default})',
        'en': 'LLM base URL (empty: {default})',
    },
    'settings.llm_model': {'es': 'Modelo (vacío: {default})', 'en': 'Model (empty: {default})'},
    'settings.llm_api_key': {'es': 'Clave de API nueva', 'en': 'New API key'},
    'settings.key_set': {
        'es': 'Hay una clave guardada (cifrada). Escribí otra solo para reemplazarla.',
        'en': 'A key is stored (encrypted). Type another only to replace it.',
    },
    'settings.key_unset': {
        'es': 'No hay clave propia: se usa la general del sistema, si hay.',
        'en': "No key of its own: the system's one is used, if any.",
    },
    'settings.clear_key': {'es': 'Borrar la clave guardada', 'en': 'Delete the stored key'},
    'settings.admin_only': {
        'es': 'Solo un administrador cambia el motor y la conexión del LLM.',
        'en': 'Only an admin changes the engine and the LLM connection.',
    },
    'settings.probe': {'es': 'Probar', 'en': 'Test'},
    'settings.probe_ok': {
        'es': 'El LLM respondió en {ms} ms: «{answer}»',
        'en': 'The LLM answered in {ms} ms: “{answer}”',
    },
    'settings.probe_failed': {'es': 'El LLM no respondió: {reason}', 'en': 'The LLM did not answer: {reason}'},
    'settings.probe_incomplete': {
        'es': 'Para probar hacen falta la URL, el modelo y una clave (propia o la general).',
        'en': 'Testing needs the URL, the model and a key (its own or the system one).',
    },
    'settings.save': {'es': 'Guardar', 'en': 'Save'},
    'settings.saved': {'es': 'Guardado: {fields}', 'en': 'Saved: {fields}'},
    'settings.unchanged': {'es': 'No había nada para cambiar.', 'en': 'There was nothing to change.'},
    'settings.invalid': {'es': 'Revisá los datos marcados.', 'en': 'Check the fields marked.'},
    'settings.forbidden_branch': {
        'es': 'Solo podés configurar tu propia sucursal.',
        'en': 'You may only configure your own branch.',
    },
    # Validation (services/branch_settings.py Problem codes).
    'settings.error.unknown_field': {'es': 'configuración desconocida', 'en': 'unknown setting'},
    'settings.error.integer': {'es': 'tiene que ser un número entero', 'en': 'must be a whole number'},
    'settings.error.range': {
        'es': 'tiene que estar entre {minimum} y {maximum}',
        'en': 'must be between {minimum} and {maximum}',
    },
    'settings.error.boolean': {'es': 'tiene que ser sí o no', 'en': 'must be yes or no'},
    'settings.error.choice': {'es': 'tiene que ser una de: {choices}', 'en': 'must be one of: {choices}'},
    'settings.error.rate': {
        'es': 'tiene que ser un porcentaje entre 0 y 100, con hasta 2 decimales',
        'en': 'must be a percentage between 0 and 100 with at most 2 decimals',
    },
    'settings.error.url': {
        'es': 'tiene que ser una dirección http:// o https://',
        'en': 'must be an http:// or https:// address',
    },
    'settings.error.text_length': {
        'es': 'puede tener hasta {maximum} caracteres',
        'en': 'must be at most {maximum} characters',
    },
    'settings.error.hours_day': {'es': 'día desconocido: {day}', 'en': 'unknown weekday {day}'},
    'settings.error.hours_pair': {
        'es': 'completá la hora de apertura y la de cierre',
        'en': 'give both the opening and the closing time',
    },
    'settings.error.hours_time': {
        'es': '{value} no es una hora (HH:MM, de 00:00 a 24:00)',
        'en': '{value} is not a time (HH:MM, 00:00 to 24:00)',
    },
    'settings.error.hours_order': {
        'es': 'cierra ({close}) antes de abrir ({open})',
        'en': 'closes ({close}) before it opens ({open})',
    },
}
