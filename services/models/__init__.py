"""Every table of LeadMaster. Importing this package registers them all on `SQLModel.metadata`.

Feature modules without re-exports here (`assistant`, `vin`) are imported for their tables; import their
classes from the module itself.
"""

from . import assistant, campaigns, dashboard, leads, rate_limits, vin  # noqa: F401 - registers their tables
from .alerts import Alert, AlertKind, AlertPublic
from .base import (
    AssignmentRule,
    ChannelKind,
    ConversationMode,
    ConversationStatus,
    Direction,
    MessagePriority,
    MessageStatus,
    QuoteStatus,
    Role,
    SenderKind,
    TemplateStatus,
    table_of,
)
from .catalog import Product, ProductCode, ProductFitment, ProductPublic, ProductStock
from .contacts import Contact, ContactCreate, ContactPublic, ContactUpdate
from .conversations import (
    AssignmentEvent,
    Conversation,
    ConversationLabel,
    ConversationPublic,
    Media,
    Message,
    MessagePublic,
)
from .messaging import CannedResponse, ConversationNote, IdempotencyKey, MessageTemplate
from .organization import (
    Branch,
    BranchCreate,
    BranchGrant,
    BranchPublic,
    WhatsAppNumber,
    WhatsAppNumberCreate,
    WhatsAppNumberPublic,
)
from .people import ApiKey, AuditEntry, AuthSession, LoginAttempt, User, UserCreate, UserPublic
from .sales import Quote, QuoteLine, Sale
from .secrets import StoredSecret
from .sessions import SessionState, WaSession, WaSessionPublic, WaSessionTransition, WaSessionTransitionPublic
from .simulator import SimulatorMedia, SimulatorMessage
from .webhooks import DeadLetter, DeadLetterKind, DeliveryStatus, WebhookDelivery

__all__ = [
    'Alert',
    'AlertKind',
    'AlertPublic',
    'ApiKey',
    'AssignmentEvent',
    'AssignmentRule',
    'AuditEntry',
    'AuthSession',
    'Branch',
    'BranchCreate',
    'BranchGrant',
    'BranchPublic',
    'CannedResponse',
    'ChannelKind',
    'Contact',
    'ContactCreate',
    'ContactPublic',
    'ContactUpdate',
    'Conversation',
    'ConversationLabel',
    'ConversationMode',
    'ConversationNote',
    'ConversationPublic',
    'ConversationStatus',
    'DeadLetter',
    'DeadLetterKind',
    'DeliveryStatus',
    'Direction',
    'IdempotencyKey',
    'LoginAttempt',
    'Media',
    'Message',
    'MessagePriority',
    'MessagePublic',
    'MessageStatus',
    'MessageTemplate',
    'Product',
    'ProductCode',
    'ProductFitment',
    'ProductPublic',
    'ProductStock',
    'Quote',
    'QuoteLine',
    'QuoteStatus',
    'Role',
    'Sale',
    'SenderKind',
    'SessionState',
    'SimulatorMedia',
    'SimulatorMessage',
    'StoredSecret',
    'TemplateStatus',
    'User',
    'UserCreate',
    'UserPublic',
    'WaSession',
    'WaSessionPublic',
    'WaSessionTransition',
    'WaSessionTransitionPublic',
    'WebhookDelivery',
    'WhatsAppNumber',
    'WhatsAppNumberCreate',
    'WhatsAppNumberPublic',
    'table_of',
]
