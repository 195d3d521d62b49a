"""Quotes, sales, tickets, commissions and daily sales reports (SPEC S2–S4).

- `totals`: the arithmetic (Decimal, AFIP-style rounding); `money`: es-AR formatting.
- `quotes`: drafts, edits, reading, listing, rejection and expiry (branch-isolated); `numbering`: SUC1-000123.
- `render_text` / `render_pdf`: WhatsApp text (≤ 4096 characters a part) and fpdf2 PDFs.
- `sending`: quote → outbox (text + PDF, or the approved template outside the 24 h window).
- `confirmation`: the customer's "sí" or button tap → `closing.accept_quote` → sale, ticket, stock, commission.
- `inventory`: stock providers (database, SOAP via zeep); `commissions`, `reports`: what agents and managers see,
  read from the running daily totals of `day_totals`.
- `desk.SalesDesk`: the database, publisher, media store, inventory provider and zone these services share.
- `workers`: the customer's "sí" checked on every inbound message (`QuoteAcceptanceWorker`), quote expiry.

Decisions are written down in docs/sales.md.
"""
