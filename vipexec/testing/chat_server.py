"""An OpenAI-compatible chat server on 127.0.0.1 for tests (stdlib only).

``GET /v1/models`` lists ``models``; every ``POST`` is recorded (``requests``, ``headers``) and
answered by :meth:`ChatServer.answer`, which subclasses override to script replies, errors and
delays. ``in_flight`` / ``max_in_flight`` count concurrent requests.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ChatServer", "choices"]


def choices(texts: list[str]) -> dict[str, Any]:
    """A chat completion body with one choice per text."""
    return {"choices": [{"message": {"role": "assistant", "content": t}} for t in texts]}


class ChatServer:
    """Serves until :meth:`close`; ``url`` ends in ``/v1``."""

    models: tuple[str, ...] = ("tiny-served",)

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout): nobody to answer
                    pass

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    listed = [{"id": name} for name in server.models]
                    self._json(200, {"object": "list", "data": listed})
                else:
                    self._json(404, {"error": "no such path"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    server.requests.append(payload)
                    server.headers.append(dict(self.headers))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._json(*server.answer(self.path.rstrip("/"), payload))
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def answer(self, path: str, payload: dict[str, Any]) -> tuple[int, Any]:
        """``(status, body)`` for one POST (already recorded); echoes the last message."""
        if path != "/v1/chat/completions":
            return 404, {"error": "no such path"}
        return 200, choices([f"echo: {payload['messages'][-1]['content']}"])

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
