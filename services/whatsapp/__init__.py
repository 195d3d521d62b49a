"""WhatsApp channels: Cloud API payloads, Graph API client, ingest, outbox, media, simulator."""
