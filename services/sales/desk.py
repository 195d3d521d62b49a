"""What the sales services need besides the database, bundled once per process: the event publisher, the
media store (PDFs go out as documents), the inventory provider and the business time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from ..database import Database
from ..events import Event, EventPublisher
from ..media_store import MediaStore
from .inventory import DatabaseInventory, InventoryProvider, SoapInventory
from .quotes import DEFAULT_ZONE, today_in

# Published after a quote is sent or accepted (with its sale), so open pages (the console's quote
# editor, the quote list) refresh; data: quote_id, status, and sale_id / ticket when a sale was made.
QUOTE_UPDATED = 'quote.updated'


@dataclass
class SalesDesk:
    db: Database
    publisher: EventPublisher
    store: MediaStore
    inventory: InventoryProvider
    zone: ZoneInfo = DEFAULT_ZONE
    max_media_bytes: int = 16 * 1024 * 1024

    def today(self) -> date:
        return today_in(self.zone)

    async def quote_updated(
        self, *, branch_id: int, conversation_id: int | None, quote_id: int, status: str, **data: object
    ) -> None:
        await self.publisher.publish(
            [Event(QUOTE_UPDATED, branch_id, conversation_id, {'quote_id': quote_id, 'status': status, **data})]
        )


def build_inventory(
    db: Database,
    *,
    provider: str,
    wsdl: str | None = None,
    username: str | None = None,
    password: str | None = None,
    timeout_seconds: float = 3.0,
    cache_seconds: float = 60.0,
) -> InventoryProvider:
    """The provider `LEADMASTER_INVENTORY_PROVIDER` names: 'database' (default) or 'soap' (needs a WSDL)."""
    if provider == 'soap':
        if not wsdl:
            raise ValueError('LEADMASTER_INVENTORY_PROVIDER=soap needs LEADMASTER_INVENTORY_SOAP_WSDL')
        return SoapInventory(
            wsdl=wsdl,
            username=username,
            password=password,
            timeout_seconds=timeout_seconds,
            cache_seconds=cache_seconds,
        )
    if provider != 'database':
        raise ValueError(f'unknown inventory provider {provider!r} (database or soap)')
    return DatabaseInventory(db)
