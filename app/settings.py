"""Every knob of LeadMaster, read from `LEADMASTER_*` environment variables or an optional `.env`.

The app, the command line and the tests all build their `Settings` here, so they can never disagree
about which database or secret is in use.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

Locale = Literal['es', 'en']


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix='LEADMASTER_', env_file='.env', extra='ignore')

    # Where runtime files live (SQLite database, media, generated secret, NiceGUI storage).
    var_dir: Path = REPO_ROOT / 'var'
    database_url: str = ''  # empty means the embedded SQLite file under `var_dir`
    host: str = '127.0.0.1'
    port: int = 8080
    secret_key: SecretStr | None = None  # generated into `var_dir` on first use when unset
    # O3: the AES-256-GCM key of the secrets kept in the database (`leadmaster secrets`, services/secrets.py), base64
    # of 32 bytes; unset: generated once into var/secrets_key. Older keys (a JSON list) stay readable for a rotation.
    secrets_key: SecretStr | None = None
    secrets_old_keys: list[SecretStr] = Field(default_factory=list)
    default_locale: Locale = 'es'
    display_timezone: str = 'America/Argentina/Buenos_Aires'
    migrate_on_start: bool = True
    # O4: `text` for a terminal, `json` (one object per line, with request / delivery / message ids) for a shipper.
    log_format: Literal['text', 'json'] = 'text'
    # O4: `/metrics` wants this as a Bearer token; unset, it answers only requests from this machine.
    metrics_token: SecretStr | None = None
    # PostgreSQL: a statement that has not answered in this long is abandoned by the client (a stalled server or
    # network). Generous: migrations build indexes through the same engine.
    database_command_timeout_seconds: float = Field(default=300.0, gt=0)
    # The time a client may take between two pieces of a request body before it is answered 408 and the
    # connection closed: a body that declares 1,000 bytes and sends 3 must not hold a connection (F7).
    request_body_timeout_seconds: float = Field(default=10.0, gt=0)
    # Served over HTTPS (directly or behind a proxy): the session cookie gets `Secure`, so it never travels in clear.
    https: bool = False
    # Origins (scheme://host[:port]) besides the page's own that may open the live socket; empty = only our own.
    allowed_origins: list[str] = Field(default_factory=list)

    # WhatsApp Cloud API (M1). With no token the embedded simulator is the channel (M5).
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_token: SecretStr | None = None
    graph_api_base: str = 'https://graph.facebook.com/v23.0'
    webhook_max_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # A webhook whose body cannot be journaled within this long is answered 503 (Meta retries): a stalled
    # database must not hold Meta's connections, nor make it give up on us (F7).
    webhook_journal_timeout_seconds: float = Field(default=2.0, gt=0)
    media_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # Outbox (M3): Cloud API default throughput per number, and retries before a message is given up.
    outbox_rate_per_number: float = Field(default=80.0, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    # L2/L4 (issue 16): the send gate (services/whatsapp/outbox.py) and campaigns (services/campaigns). A
    # business-initiated message to a contact under this score, not technically validated, or opted out is blocked.
    campaign_min_score: int = Field(default=70, ge=0, le=100)
    campaign_require_validated: bool = True
    # A campaign's default pace from its number (each campaign sets its own), and how often the campaigns job looks
    # for scheduled campaigns to start and running ones that finished.
    campaign_rate_per_minute: float = Field(default=60.0, gt=0)
    campaign_sweep_seconds: float = Field(default=15.0, gt=0)
    # What a customer writes to opt out (case, accents and punctuation do not matter), and the one reply they get.
    campaign_opt_out_keywords: list[str] = Field(
        default_factory=lambda: ['BAJA', 'STOP', 'no me escriban más', 'dame de baja', 'darme de baja']
    )
    campaign_opt_out_confirmation: str = (
        'Listo, te dimos de baja: no vas a recibir más mensajes nuestros. Si nos escribís, te respondemos igual.'
    )
    # Background workers (ingest, outbox, media, takeover, assistant, summaries, VIN, sales) are started by this
    # command unless disabled (tests drive them by hand; extra web processes leave them to a worker process).
    run_workers: bool = True
    # Where those workers run (SPEC O6). 'separate': `leadmaster run` starts them in a process of their own
    # (`leadmaster worker`), so webhook acknowledgements and pages never queue behind a bot turn or a summary;
    # 'inline': inside the web process; 'auto': separate on PostgreSQL, inline on SQLite (no cross-process events).
    worker_process: Literal['auto', 'separate', 'inline'] = 'auto'
    # How events travel: within one process, or between every process sharing PostgreSQL (LISTEN/NOTIFY).
    event_bus: Literal['auto', 'in_process', 'postgres'] = 'auto'
    # Issue 20: how many worker processes `leadmaster run` keeps beside the web process (PostgreSQL; `--workers N`).
    # Every worker is safe with N copies; more than the machine's cores gains nothing.
    worker_processes: int = Field(default=1, ge=1, le=64)
    # SPEC O6, issue 20: this web process's name behind the load balancer (`leadmaster cluster` names them web1,
    # web2…; docker-compose.yml the service). Sent back in the X-LeadMaster-Instance header of every response, so
    # an operator (and a test) sees which process served a page; unset, no header.
    instance_name: str = Field(default='', max_length=64, pattern=r'^[A-Za-z0-9_.-]*$')
    # Where the PostgreSQL event bus LISTENs and NOTIFYs, when LEADMASTER_DATABASE_URL goes through a pooler in
    # transaction mode (pgbouncer): LISTEN belongs to a session, so the bus needs a direct connection to the server
    # (docs/scaling.md). Empty: the database URL.
    event_bus_url: str = ''

    # WhatsApp Web through a WAHA gateway (M6, docs/channels.md). No base URL: a simulated gateway served by this
    # app under /fake-waha (the offline demo). The HMAC key signs the gateway's webhooks (HMAC-SHA512).
    waha_base_url: str | None = None
    waha_api_key: SecretStr | None = None
    waha_webhook_hmac_key: SecretStr | None = None
    # Where the gateway posts its webhooks (it runs beside us, so usually not the public URL); default: this app.
    waha_webhook_url: str | None = None
    waha_probe_seconds: float = Field(default=30.0, gt=0)
    # A READY session with no event for this long in business hours is flagged and asked who it is.
    waha_silence_minutes: float = Field(default=30.0, gt=0)
    waha_business_hours: tuple[int, int] = (9, 20)
    waha_restart_base_seconds: float = Field(default=30.0, gt=0)
    waha_restart_cap_seconds: float = Field(default=900.0, gt=0)
    # Seed 001: a WA-Web number that sends like a bot is banned; when an admin allows sending, this pace holds.
    waha_messages_per_minute: float = Field(default=20.0, gt=0)

    # Lead quality (issue 16, docs/leads.md): every contact is re-scored every `leads_rescore_hours` (the first run
    # a few minutes after start), asking a READY WA-Web session about at most `leads_whatsapp_checks_per_run`
    # numbers. `leads_auto_validate_minimum` is the admin's rule: prospects scoring at least this are validated
    # without a person (unset: only people validate).
    leads_rescore_hours: float = Field(default=24.0, gt=0)
    leads_whatsapp_checks_per_run: int = Field(default=200, ge=0)
    leads_auto_validate_minimum: int | None = Field(default=None, ge=0, le=100)

    # Takeover (T2, T4): how often the sweeper looks for expired deadlines; how long a faithful client's
    # conversation is offered to their agent before the branch rule decides.
    takeover_sweep_seconds: float = Field(default=5.0, gt=0)
    faithful_offer_seconds: int = Field(default=120, ge=0)

    # O3: retention (each branch sets its own for messages: `leadmaster branches retention`); how often the job
    # runs, and how long processed webhook bodies (they hold the customers' text too) keep their text.
    retention_sweep_hours: float = Field(default=6.0, gt=0)
    journal_retention_days: int | None = Field(default=30, ge=1)

    # Issue 21: backups (docs/operations.md § Backups). The daily one runs at `backup_hour` (display time zone) in the
    # process that runs the workers, into `backup_dir` (default var/backups), keeping this many daily and weekly ones.
    backup_enabled: bool = True
    backup_dir: Path | None = None
    backup_hour: int = Field(default=3, ge=0, le=23)
    backup_keep_daily: int = Field(default=7, ge=1)
    backup_keep_weekly: int = Field(default=4, ge=0)

    # O4: alerts to admins (services/alerts.py): how often the conditions are checked, and when each becomes one —
    # the journal's backlog (bodies waiting, or the oldest one's age) and a branch's failed sends over 15 minutes
    # (a rate, counted from this many sends on).
    alert_check_seconds: float = Field(default=60.0, gt=0)
    alert_journal_pending: int = Field(default=1000, ge=1)
    alert_journal_oldest_seconds: float = Field(default=120.0, gt=0)
    alert_send_failure_rate: float = Field(default=0.2, gt=0, le=1)
    alert_send_failure_minimum: int = Field(default=10, ge=1)

    # OpenAI-compatible LLM (A2). With no key the built-in rule engine answers.
    llm_base_url: str = 'https://openrouter.ai/api/v1'
    llm_api_key: SecretStr | None = None
    llm_model: str = 'google/gemini-2.5-flash'
    llm_timeout_seconds: float = Field(default=20.0, gt=0)
    # A1: the bot answers in AI mode after a short, human-like pause; the summary (C4) is refreshed at most this often.
    assistant_enabled: bool = True
    assistant_reply_delay_seconds: float = Field(default=1.5, ge=0)
    # Issue 18: no customer left unanswered. A bot turn not finished within its lease was lost (expired); an AI-mode
    # customer still waiting after this long is answered now or handed to a person by the assistant's watchdog.
    # Longer than the LLM engine's worst turn (tool rounds × its timeout); a reply after it is dropped.
    assistant_turn_lease_seconds: float = Field(default=150.0, gt=0)
    assistant_unanswered_seconds: float = Field(default=45.0, gt=0)
    summary_refresh_seconds: float = Field(default=30.0, gt=0)

    # VIN from photos (V1): which OCR engine(s), the per-image time limit, and the process pool size.
    vin_ocr_engine: Literal['tesseract', 'rapidocr'] = 'tesseract'
    vin_timeout_seconds: float = Field(default=20.0, gt=0)
    vin_workers: int = Field(default=1, ge=1, le=8)

    # Inventory provider (S2): the database (default) or a SOAP stock service.
    inventory_provider: Literal['database', 'soap'] = 'database'
    inventory_soap_wsdl: str | None = None
    inventory_soap_username: str | None = None
    inventory_soap_password: SecretStr | None = None
    inventory_timeout_seconds: float = Field(default=3.0, gt=0)
    inventory_cache_seconds: float = Field(default=60.0, ge=0)

    # Login protection (O2).
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    session_days: int = Field(default=7, ge=1)

    # Demo data (`make run`). Unset password: one is generated at the first seed and kept in var/.
    demo_password: SecretStr | None = None
    demo_catalog_size: int = Field(default=10_000, ge=0)

    @field_validator(
        'secret_key',
        'secrets_key',
        'whatsapp_app_secret',
        'whatsapp_verify_token',
        'whatsapp_token',
        'llm_api_key',
        'demo_password',
        'inventory_soap_password',
        'waha_api_key',
        'waha_webhook_hmac_key',
        mode='before',
    )
    @classmethod
    def _empty_secret_is_unset(cls, value: object) -> object:
        # `LEADMASTER_WHATSAPP_APP_SECRET=` (an unset variable in a compose file) must not become the key ''
        # with which anyone can sign a webhook.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator('database_url')
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # Operators paste plain `postgresql://` URLs from their provider; the app is async throughout.
        if value.startswith('postgres://'):
            value = 'postgresql://' + value.removeprefix('postgres://')
        if value.startswith('postgresql://'):
            value = 'postgresql+asyncpg://' + value.removeprefix('postgresql://')
        if value.startswith('sqlite:///'):
            value = 'sqlite+aiosqlite:///' + value.removeprefix('sqlite:///')
        return value

    @model_validator(mode='after')
    def _workers_can_reach_pages(self) -> Settings:
        if self.worker_process == 'separate' and self.effective_event_bus != 'postgres':
            raise ValueError(
                'LEADMASTER_WORKER_PROCESS=separate needs events between processes: use PostgreSQL '
                '(LEADMASTER_DATABASE_URL) and leave LEADMASTER_EVENT_BUS at auto or postgres'
            )
        if self.event_bus == 'postgres' and not self.uses_postgresql:
            raise ValueError('LEADMASTER_EVENT_BUS=postgres needs a PostgreSQL LEADMASTER_DATABASE_URL')
        return self

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f'sqlite+aiosqlite:///{self.var_dir / "leadmaster.sqlite3"}'

    @property
    def uses_postgresql(self) -> bool:
        return self.effective_database_url.startswith('postgresql')

    @property
    def effective_event_bus(self) -> Literal['in_process', 'postgres']:
        if self.event_bus == 'auto':
            return 'postgres' if self.uses_postgresql else 'in_process'
        return self.event_bus

    @property
    def workers_in_own_process(self) -> bool:
        """The web process leaves the background work to a worker process (started by `leadmaster run`)."""
        if self.worker_process == 'auto':
            return self.effective_event_bus == 'postgres'
        return self.worker_process == 'separate'

    @property
    def uses_simulator(self) -> bool:
        """No Meta token configured: the embedded simulator plays WhatsApp (M5)."""
        return self.whatsapp_token is None

    @cached_property
    def effective_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in `var/secret_key` (mode 0600)."""
        return self._configured_or_generated(self.secret_key, 'secret_key')

    @cached_property
    def effective_whatsapp_app_secret(self) -> str | None:
        """Meta's app secret; in simulator mode one generated into var/, since the simulator signs too."""
        if self.whatsapp_app_secret is None and not self.uses_simulator:
            return None  # Cloud API without an app secret: every webhook POST is refused
        return self._configured_or_generated(self.whatsapp_app_secret, 'whatsapp_app_secret')

    @cached_property
    def effective_whatsapp_token(self) -> str:
        """Bearer token for the Graph API; the simulator's fake Graph API accepts a generated one."""
        return self._configured_or_generated(self.whatsapp_token, 'simulator_graph_token')

    @property
    def effective_graph_api_base(self) -> str:
        """Meta's Graph API, or in simulator mode the fake one this app serves itself (M5)."""
        if self.uses_simulator:
            return f'http://127.0.0.1:{self.port}/fake-graph/v23.0'
        return self.graph_api_base.rstrip('/')

    @property
    def uses_simulated_waha(self) -> bool:
        """No WAHA gateway configured, in simulator mode (no Meta token): this app serves a simulated one (the offline
        demo, M6). A deployment with a Meta token and no gateway serves none."""
        return not self.waha_base_url and self.uses_simulator

    @property
    def effective_waha_base_url(self) -> str:
        if self.waha_base_url:
            return self.waha_base_url.rstrip('/')
        return f'http://127.0.0.1:{self.port}/fake-waha'

    @cached_property
    def effective_waha_api_key(self) -> str | None:
        """The gateway's X-Api-Key; the simulated gateway gets one generated into var/."""
        if self.waha_api_key is None and not self.uses_simulated_waha:
            return None  # a gateway run without a key (WAHA allows it on a private network)
        return self._configured_or_generated(self.waha_api_key, 'simulated_waha_api_key')

    @cached_property
    def effective_waha_webhook_hmac_key(self) -> str | None:
        """The key the gateway signs webhooks with; None refuses every WAHA webhook (403). The simulated gateway
        gets one generated into var/."""
        if self.waha_webhook_hmac_key is None and not self.uses_simulated_waha:
            return None
        return self._configured_or_generated(self.waha_webhook_hmac_key, 'simulated_waha_hmac_key')

    @property
    def effective_waha_webhook_url(self) -> str:
        return self.waha_webhook_url or f'http://127.0.0.1:{self.port}/webhooks/waha'

    def _configured_or_generated(self, configured: SecretStr | None, filename: str) -> str:
        if configured is not None:
            return configured.get_secret_value()
        path = self.var_dir / filename
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(value)
        return value

    @property
    def media_dir(self) -> Path:
        return self.var_dir / 'media'

    @property
    def effective_backup_dir(self) -> Path:
        return self.backup_dir or self.var_dir / 'backups'
