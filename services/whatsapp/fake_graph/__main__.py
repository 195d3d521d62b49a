"""`python -m services.whatsapp.fake_graph --port N [--status-webhook URL --app-secret S]`: the fake Graph API in
memory, in the foreground, as a process of its own (benchmarks run Meta's side apart, as it is in production)."""

from __future__ import annotations

import argparse

import uvicorn

from .contract import DEFAULT_TOKEN, FakeGraph, StatusWebhook
from .memory import MemoryBackend


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m services.whatsapp.fake_graph', description='A fake Meta Graph API (WhatsApp Cloud API subset).'
    )
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--token', default=DEFAULT_TOKEN, help='the bearer token it accepts (default: %(default)s)')
    parser.add_argument('--status-webhook', help="the app's webhook URL: post signed sent/delivered statuses there")
    parser.add_argument('--app-secret', default='', help='signs the status webhooks')
    parser.add_argument(
        '--phone-number-id', action='append', help='a phone number id it serves (repeatable; default: any)'
    )
    options = parser.parse_args(argv)
    webhook = StatusWebhook(options.status_webhook, options.app_secret) if options.status_webhook else None
    # Requests are not recorded: over a long run memory would grow with every send.
    graph = FakeGraph(MemoryBackend(options.phone_number_id), token=options.token, status_webhook=webhook)
    uvicorn.run(graph, host=options.host, port=options.port, lifespan='off', log_level='warning', access_log=False)


if __name__ == '__main__':
    main()
