"""A fake OpenAI-compatible chat-completions server over real HTTP on 127.0.0.1, for the LLM engine's tests.

It speaks the contract the `openai` SDK uses (and that OpenRouter, Gemini's OpenAI endpoint, Ollama and vLLM
serve): `POST {base}/chat/completions` with `Authorization: Bearer <key>` and a JSON body (`model`, `messages`,
`tools`, `tool_choice`…); the answer is a `chat.completion` object whose `choices[0].message` carries either
`content` or `tool_calls` (`{id, type: "function", function: {name, arguments: "<json string>"}}`), with
`finish_reason` `stop` or `tool_calls`, and `usage`. Errors are `{"error": {"message", "type", "code"}}` with
the HTTP status.

Answers are scripted: `fake.script([...])` queues, for the next requests, a `ToolCalls(...)`, a `Text(...)`,
an HTTP status (e.g. 500) or a delay in seconds (a float: the request hangs that long, then answers with the
next item). A callable item receives the request body and returns one of those, so a test can answer from what
the engine sent (e.g. the tool results). Every request body is recorded in `fake.requests`.

In a conftest: `from tests.fakes.openai_server import fake_openai  # noqa: F401` and ask for `fake_openai`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULT_KEY = 'sk-fake-openai-key'


@dataclass(frozen=True)
class Text:
    content: str


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolCalls:
    calls: list[ToolCall]
    content: str | None = None


@dataclass(frozen=True)
class Delay:
    seconds: float


ScriptItem = Text | ToolCalls | int | float | Delay | Callable[[dict[str, Any]], Any]


@dataclass
class FakeOpenAI:
    key: str = DEFAULT_KEY
    requests: list[dict[str, Any]] = field(default_factory=list)
    _script: deque[ScriptItem] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _port: int | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)

    # --- lifecycle ---

    def start(self) -> Self:
        app = Starlette(routes=[Route('/v1/chat/completions', self._completions, methods=['POST'])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', 0))
        self._port = sock.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(app, lifespan='off', log_level='warning', access_log=False, timeout_graceful_shutdown=1)
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={'sockets': [sock]}, name=f'fake-openai:{self._port}', daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError('fake OpenAI server did not start')
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._stopping.set()
            self._server.should_exit = True
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f'http://127.0.0.1:{self._port}/v1'

    def script(self, items: Iterable[ScriptItem]) -> None:
        with self._lock:
            self._script.extend(items)

    # --- the endpoint ---

    async def _completions(self, request: Request) -> JSONResponse:
        if request.headers.get('authorization') != f'Bearer {self.key}':
            return _error(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key')
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', None)
        if not isinstance(body, dict) or not body.get('model') or not isinstance(body.get('messages'), list):
            return _error(400, "'model' and 'messages' are required", 'invalid_request_error', None)
        with self._lock:
            self.requests.append(body)
        while True:
            with self._lock:
                item: ScriptItem = self._script.popleft() if self._script else Text('De acuerdo.')
            if callable(item) and not isinstance(item, type):
                item = item(body)
            if isinstance(item, float | Delay):
                seconds = item.seconds if isinstance(item, Delay) else item
                await asyncio.get_running_loop().run_in_executor(None, self._stopping.wait, seconds)
                continue
            break
        if isinstance(item, int):
            return _error(item, 'The server had an error while processing your request.', 'server_error', None)
        assert isinstance(item, Text | ToolCalls)  # what is left of a script item (or a callable's answer)
        return JSONResponse(self._completion(body, item))

    def _completion(self, body: dict[str, Any], item: Text | ToolCalls) -> dict[str, Any]:
        if isinstance(item, ToolCalls):
            message: dict[str, Any] = {
                'role': 'assistant',
                'content': item.content,
                'tool_calls': [
                    {
                        'id': f'call_{next(self._ids)}',
                        'type': 'function',
                        'function': {'name': call.name, 'arguments': json.dumps(call.arguments, ensure_ascii=False)},
                    }
                    for call in item.calls
                ],
            }
            finish = 'tool_calls'
        else:
            message = {'role': 'assistant', 'content': item.content}
            finish = 'stop'
        return {
            'id': f'chatcmpl-{next(self._ids)}',
            'object': 'chat.completion',
            'created': int(time.time()),
            'model': body['model'],
            'choices': [{'index': 0, 'message': message, 'finish_reason': finish, 'logprobs': None}],
            'usage': {'prompt_tokens': 100, 'completion_tokens': 20, 'total_tokens': 120},
        }


def _error(status: int, message: str, type_: str, code: str | None) -> JSONResponse:
    return JSONResponse({'error': {'message': message, 'type': type_, 'param': None, 'code': code}}, status_code=status)


def tool_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The tool messages the engine sent back, parsed."""
    return [json.loads(m['content']) for m in body['messages'] if m.get('role') == 'tool']


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake
