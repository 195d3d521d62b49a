"""`python -m services.whatsapp.waha.fake_server --port 3000 [--webhook URL --hmac-key K] [--session default]`: the
fake WAHA in memory, in the foreground, as a process of its own (benchmarks run the gateway apart, as users do).

Drive it over HTTP: `POST /_fake/sessions/{session}/inbound {"type": "text", "phone": "549…", "text": "hola"}`,
`…/scan`, `…/fail`, `…/status {"status": …}`, `POST /_fake/script-send {"items": [500, 2.5]}` (see contract.py).
"""

from __future__ import annotations

import argparse
import asyncio

import uvicorn

from .contract import DEFAULT_API_KEY, DEFAULT_PAIRED_PHONE, FakeWaha, WebhookTarget
from .memory import MemoryBackend


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog='python -m services.whatsapp.waha.fake_server', description='A fake WAHA (WhatsApp HTTP API) gateway.'
    )
    parser.add_argument('--port', type=int, default=3000)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--api-key', default=DEFAULT_API_KEY, help="the X-Api-Key it wants ('' for none)")
    parser.add_argument('--webhook', help="post every session's events here (like WHATSAPP_HOOK_URL)")
    parser.add_argument('--hmac-key', default=None, help='sign the webhooks (X-Webhook-Hmac, sha512)')
    parser.add_argument('--engine', default='WEBJS', choices=['WEBJS', 'NOWEB', 'GOWS'])
    parser.add_argument(
        '--session', action='append', default=[], help='a session created paired and WORKING at start (repeatable)'
    )
    parser.add_argument('--paired-phone', default=DEFAULT_PAIRED_PHONE)
    options = parser.parse_args(argv)
    webhook = WebhookTarget(options.webhook, options.hmac_key or None) if options.webhook else None
    # Sends are not kept: over a long run memory would grow with every one.
    fake = FakeWaha(
        MemoryBackend(keep_sends=False),
        api_key=options.api_key or None,
        engine=options.engine,
        default_webhook=webhook,
        public_url=f'http://{options.host}:{options.port}',
    )

    async def serve() -> None:
        fake.bind_loop()
        for name in options.session:
            fake.add_session(name, paired_phone=options.paired_phone)
        config = uvicorn.Config(
            fake, host=options.host, port=options.port, lifespan='off', log_level='warning', access_log=False
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            await fake.aclose()

    asyncio.run(serve())


if __name__ == '__main__':
    main()
