"""Inventory providers (S2): where stock comes from. The database (`product_stock`, per branch) by default;
a SOAP stock service (zeep) when the retailer's stock system is the source of truth.

A stock check never blocks a page: the SOAP call has a timeout, answers are cached for a short while, a
failure opens a short "down" period during which no call is tried, and every unanswered product comes back
as *unconfirmed* ("stock sin confirmar") — with the last known quantity when there is one.

The SOAP contract (`GetStock`, document/literal, WS-Security UsernameToken) is described in docs/sales.md;
`tests/fakes/inventory_stock.wsdl` is its WSDL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ..database import Database
from ..models import ProductStock
from ..models.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StockItem:
    """A product whose stock is asked for: the id is ours, the SKU is what an external system knows."""

    product_id: int
    sku: str


@dataclass(frozen=True)
class StockLevel:
    product_id: int
    quantity: int | None  # None: never known
    confirmed: bool  # False: the provider did not answer now ("stock sin confirmar")
    source: str

    @property
    def available(self) -> bool | None:
        return None if self.quantity is None else self.quantity > 0


class InventoryProvider(Protocol):
    name: str

    async def stock(self, *, branch_id: int, branch_code: str, items: Sequence[StockItem]) -> dict[int, StockLevel]:
        """Stock of `items` in one branch, keyed by product id; never raises for an unreachable provider."""
        ...

    async def record_sale(self, session: AsyncSession, *, branch_id: int, lines: Sequence[tuple[int, int]]) -> None:
        """Take (product id, quantity) out of stock inside the sale's own transaction."""
        ...


class DatabaseInventory:
    """Stock per branch in `product_stock`; decremented in the same transaction that records the sale."""

    name = 'database'

    def __init__(self, db: Database) -> None:
        self.db = db

    async def stock(self, *, branch_id: int, branch_code: str, items: Sequence[StockItem]) -> dict[int, StockLevel]:
        ids = sorted({item.product_id for item in items})
        if not ids:
            return {}
        async with self.db.session() as session:
            rows = (
                await session.exec(
                    select(ProductStock.product_id, ProductStock.quantity).where(
                        ProductStock.branch_id == branch_id, col(ProductStock.product_id).in_(ids)
                    )
                )
            ).all()
        found = dict(rows)
        # No row means the branch never stocked it: zero, and that is a confirmed answer.
        return {
            product_id: StockLevel(product_id, found.get(product_id, 0), confirmed=True, source=self.name)
            for product_id in ids
        }

    async def record_sale(self, session: AsyncSession, *, branch_id: int, lines: Sequence[tuple[int, int]]) -> None:
        """Stock may go below zero: the customer has already agreed, and a negative figure tells the branch
        it sold what it did not have (better than hiding it at zero)."""
        totals: dict[int, int] = {}
        for product_id, quantity in lines:
            totals[product_id] = totals.get(product_id, 0) + quantity
        now = utcnow()
        for product_id, quantity in sorted(totals.items()):  # one order for all sales: no deadlocks
            result = await session.exec(
                update(ProductStock)
                .where(col(ProductStock.product_id) == product_id, col(ProductStock.branch_id) == branch_id)
                .values(quantity=col(ProductStock.quantity) - quantity, updated_at=now)
            )
            if result.rowcount == 0:
                session.add(
                    ProductStock(product_id=product_id, branch_id=branch_id, quantity=-quantity, updated_at=now)
                )


@dataclass
class _Cached:
    quantity: int
    at: float


class SoapInventory:
    """Stock from a SOAP service (zeep), read-only: the stock system records its own sales.

    zeep loads the WSDL synchronously, so the client is built in a worker thread on first use; operations run
    on zeep's async transport (httpx) under `timeout_seconds`.
    """

    name = 'soap'

    def __init__(
        self,
        *,
        wsdl: str,
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: float = 3.0,
        cache_seconds: float = 60.0,
        down_seconds: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.wsdl = wsdl
        self.username = username
        self.password = password
        self.timeout_seconds = timeout_seconds
        self.cache_seconds = cache_seconds
        self.down_seconds = down_seconds
        self.clock = clock
        self._client_task: asyncio.Task[Any] | None = None
        self._cache: dict[tuple[str, str], _Cached] = {}
        self._down_until = 0.0
        self.last_error = ''

    async def stock(self, *, branch_id: int, branch_code: str, items: Sequence[StockItem]) -> dict[int, StockLevel]:
        now = self.clock()
        levels: dict[int, StockLevel] = {}
        missing: list[StockItem] = []
        for item in items:
            cached = self._cache.get((branch_code, item.sku))
            if cached is not None and now - cached.at <= self.cache_seconds:
                levels[item.product_id] = StockLevel(item.product_id, cached.quantity, True, self.name)
            else:
                missing.append(item)
        if missing and now >= self._down_until:
            answered = await self._ask(branch_code, sorted({item.sku for item in missing}))
            if answered is not None:
                for sku, quantity in answered.items():
                    self._cache[(branch_code, sku)] = _Cached(quantity, self.clock())
                for item in missing:
                    # A SKU the stock system does not return is one it does not have.
                    quantity = answered.get(item.sku, 0)
                    levels[item.product_id] = StockLevel(item.product_id, quantity, True, self.name)
                return levels
        for item in missing:
            stale = self._cache.get((branch_code, item.sku))
            levels[item.product_id] = StockLevel(item.product_id, stale.quantity if stale else None, False, self.name)
        return levels

    async def record_sale(self, session: AsyncSession, *, branch_id: int, lines: Sequence[tuple[int, int]]) -> None:
        return None

    def warm_up(self) -> None:
        """Start loading zeep and the WSDL in the background (≈2 s the first time), e.g. at app start."""
        self._client_ready()

    async def aclose(self) -> None:
        if self._client_task is not None and self._client_task.done() and not self._client_task.exception():
            await self._client_task.result().transport.aclose()
        self._client_task = None

    def _client_ready(self) -> asyncio.Task[Any]:
        task = self._client_task
        if task is None or (task.done() and task.exception() is not None):
            # zeep reads the WSDL synchronously: a worker thread, so the event loop never waits for it.
            task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._build_client))
            # Retrieved here so a failed load nobody awaited (after a timeout) is not logged as an error.
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._client_task = task
        return task

    async def _ask(self, branch_code: str, skus: list[str]) -> dict[str, int] | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds
        client_task = self._client_ready()
        try:
            # Shielded: a slow first WSDL load goes on in the background and serves the next check.
            client = await asyncio.wait_for(asyncio.shield(client_task), timeout=self.timeout_seconds)
            return await asyncio.wait_for(
                self._call(client, branch_code, skus), timeout=max(0.05, deadline - loop.time())
            )
        except Exception as exc:  # any failure of the stock system means "unconfirmed", not a crash
            self.last_error = f'{type(exc).__name__}: {exc}'[:300]
            if not client_task.done():
                return None  # still loading the WSDL: not a failure of the service (yet)
            self._down_until = self.clock() + self.down_seconds
            log.warning(
                'SOAP stock service unavailable (%s); stock unconfirmed for %s s', self.last_error, self.down_seconds
            )
            return None

    async def _call(self, client: Any, branch_code: str, skus: list[str]) -> dict[str, int]:
        response = await client.service.GetStock(branchCode=branch_code, sku=skus)
        items = getattr(response, 'item', None)
        if items is None and isinstance(response, list):
            items = response
        return {str(item.sku): int(item.quantity) for item in items or []}

    def _build_client(self) -> Any:
        import httpx
        from zeep import AsyncClient, Settings
        from zeep.transports import AsyncTransport
        from zeep.wsse.username import UsernameToken

        # The caller's deadline is `asyncio.wait_for`; these only bound a request nobody waits for any more
        # (the WSDL load runs on in its thread after a check gave up on it).
        transport = AsyncTransport(
            client=httpx.AsyncClient(timeout=max(10.0, self.timeout_seconds)),
            wsdl_client=httpx.Client(timeout=30.0),
        )
        wsse = UsernameToken(self.username, self.password or '') if self.username else None
        return AsyncClient(self.wsdl, transport=transport, wsse=wsse, settings=Settings(strict=False))
