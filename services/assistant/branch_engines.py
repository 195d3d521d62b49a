"""Which engine answers a branch's customers (A2 per branch, issue 15): the branch's own choice and LLM endpoint
(services/branch_settings.py) when it set them, else the process-wide engine.

A branch's LLM settings fill in from the process-wide ones field by field: a branch that names only a model uses
the process-wide URL and key with it. A branch that asks for the LLM with no key anywhere gets the rules (as the
process does without a key). The branch row is read on every turn, so a change on the settings page applies to the
next message without a restart; the LLM clients are kept per (URL, model, key) and closed by `aclose`.
"""

from __future__ import annotations

import hashlib
import logging

from sqlmodel import select

from ..database import Database
from ..models import Branch
from ..secrets import Keyring, SecretsKeyError, get_secret
from .engine import AssistantEngine, AssistantTools
from .llm import LLMEngine
from .rules import RuleEngine

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 20.0


def branch_key_name(branch_id: int) -> str:
    # Same name as services/branch_settings.llm_key_secret_name (which imports this package's engines: not here).
    return f'branch_{branch_id}_llm_api_key'


class BranchEngines:
    def __init__(self, db: Database, *, default: AssistantEngine, keyring: Keyring | None = None) -> None:
        self.db = db
        self.default = default
        self.keyring = keyring
        self._rules: RuleEngine | None = default.fallback if isinstance(default, LLMEngine) else None
        self._llms: dict[tuple[str, str, str], LLMEngine] = {}

    @property
    def rules(self) -> RuleEngine:
        if self._rules is None:
            default = self.default
            self._rules = default if isinstance(default, RuleEngine) else RuleEngine(AssistantTools(self.db))
        return self._rules

    async def engine_for(self, branch_id: int) -> AssistantEngine:
        async with self.db.autocommit_session() as session:
            row = (
                await session.exec(
                    select(Branch.assistant_engine, Branch.llm_base_url, Branch.llm_model).where(Branch.id == branch_id)
                )
            ).first()
        if row is None:
            return self.default
        choice, base_url, model = row
        if choice == 'rule':
            return self.rules
        key = await self._branch_key(branch_id)
        if choice is None and not (base_url or model or key):
            return self.default
        default_llm = self.default if isinstance(self.default, LLMEngine) else None
        base_url = base_url or (str(default_llm.client.base_url) if default_llm else '')
        model = model or (default_llm.model if default_llm else '')
        key = key or (default_llm.client.api_key if default_llm else '')
        if not (base_url and model and key):
            log.warning('branch %s asks for the LLM without its URL, model or key; the rules answer', branch_id)
            return self.rules
        return self._llm(base_url, model, key, default_llm)

    async def _branch_key(self, branch_id: int) -> str | None:
        if self.keyring is None:
            return None
        try:
            secret = await get_secret(self.db, keyring=self.keyring, name=branch_key_name(branch_id))
        except SecretsKeyError:
            log.exception('the LLM key of branch %s cannot be read; the process-wide one is used', branch_id)
            return None
        return secret.get_secret_value() if secret is not None else None

    def _llm(self, base_url: str, model: str, key: str, default_llm: LLMEngine | None) -> LLMEngine:
        if default_llm is not None and (
            str(default_llm.client.base_url).rstrip('/'),
            default_llm.model,
            default_llm.client.api_key,
        ) == (base_url.rstrip('/'), model, key):
            return default_llm
        cache_key = (base_url, model, hashlib.sha256(key.encode()).hexdigest())
        engine = self._llms.get(cache_key)
        if engine is None:
            timeout = default_llm.client.timeout if default_llm else DEFAULT_TIMEOUT_SECONDS
            engine = LLMEngine(
                AssistantTools(self.db),
                base_url=base_url,
                api_key=key,
                model=model,
                timeout_seconds=timeout if isinstance(timeout, int | float) else DEFAULT_TIMEOUT_SECONDS,
                fallback=self.rules,
            )
            self._llms[cache_key] = engine
        return engine

    async def aclose(self) -> None:
        engines, self._llms = list(self._llms.values()), {}
        for engine in engines:
            await engine.aclose()
