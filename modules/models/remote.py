"""The model host in its own process, shared by several sandbox pools (or machines).

:class:`HostServer` listens on a TCP address (``multiprocessing.connection``, HMAC-authenticated
with ``authkey``) and serves each connection from its own thread, so calls from every client
meet in the host's batching queues. :class:`RemoteHost` is the client side: a thread-safe
:class:`~vipexec.modules.dispatch.CallServer` (one connection per calling thread) that uploads
an image's pixels the first time the server lacks them (images are named by content, so an id
means the same pixels everywhere).

Only JSON and raw pixel bytes cross the wire: nothing is unpickled.

Run a server: ``python -m vipexec.modules.models.remote --config models.toml --profile standard
--address 127.0.0.1:7787`` (the key comes from ``$VIPEXEC_HOST_AUTHKEY``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Client, Connection, Listener
from typing import TYPE_CHECKING, Any

from vipexec.modules.dispatch import ServedCall

if TYPE_CHECKING:
    from vipexec.modules.images import ImageStore
    from vipexec.modules.models.host import ModelHost

__all__ = ["HostServer", "RemoteHost", "main", "parse_address"]

AUTHKEY_ENV = "VIPEXEC_HOST_AUTHKEY"


def parse_address(text: str) -> tuple[str, int]:
    """``"host:port"`` -> ``("host", port)``."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address must be host:port, got {text!r}")
    return host or "127.0.0.1", int(port)


def _send(connection: Connection, message: dict[str, Any]) -> None:
    connection.send_bytes(json.dumps(message).encode())


def _receive(connection: Connection) -> dict[str, Any]:
    return json.loads(connection.recv_bytes())


def _image_ids(method: str, image: str | None, args: dict[str, Any]) -> list[str]:
    ids = [image] if image is not None else []
    if method == "best_image_match":
        ids.extend(str(crop[0]) for crop in args.get("crops", []))
    return ids


class HostServer:
    """Serves a :class:`ModelHost` to :class:`RemoteHost` clients over TCP."""

    def __init__(
        self,
        host: ModelHost,
        address: tuple[str, int] = ("127.0.0.1", 0),
        *,
        authkey: bytes,
        max_image_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        if not authkey:
            raise ValueError("HostServer needs a non-empty authkey")
        self.host = host
        self.max_image_bytes = max_image_bytes
        self._listener = Listener(address, authkey=authkey)
        self._threads: list[threading.Thread] = []
        self._connections: list[Connection] = []
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._accepting: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self._listener.address  # type: ignore[return-value]

    def start(self) -> HostServer:
        """Accept connections in a background thread; returns self."""
        self._accepting = threading.Thread(
            target=self.serve_forever, name="vipexec-host-accept", daemon=True
        )
        self._accepting.start()
        return self

    def serve_forever(self) -> None:
        while not self._closed.is_set():
            try:
                connection = self._listener.accept()
            except (OSError, EOFError):
                if self._closed.is_set():
                    return
                continue
            except Exception:  # a client that failed authentication
                continue
            thread = threading.Thread(
                target=self._handle, args=(connection,), name="vipexec-host-conn", daemon=True
            )
            with self._lock:
                self._connections.append(connection)
                self._threads.append(thread)
            thread.start()

    def _handle(self, connection: Connection) -> None:
        try:
            while not self._closed.is_set():
                try:
                    message = _receive(connection)
                except (EOFError, OSError, TypeError, ValueError):
                    return  # the client left, or close() closed the connection under us
                op = message.get("op")
                if op == "serve":
                    _send(connection, self._serve(message))
                elif op == "add_image":
                    data = connection.recv_bytes(self.max_image_bytes)
                    _send(connection, self._add_image(message, data))
                elif op == "stats":
                    _send(connection, {"ok": self.host.stats()})
                elif op == "close":
                    return
                else:
                    _send(connection, {"error": f"unknown op {op!r}"})
        except (EOFError, OSError, TypeError):
            return
        finally:
            try:
                connection.close()
            except OSError:
                pass

    def _serve(self, message: dict[str, Any]) -> dict[str, Any]:
        method, image, box, args = (
            message["method"], message.get("image"), message.get("box"), message.get("args", {}),
        )  # fmt: skip
        store = self.host.store
        missing = [i for i in _image_ids(method, image, args) if i not in store]
        if missing:
            return {"missing": sorted(set(missing))}
        return {"ok": self.host.serve(method, image, box, args).to_dict()}

    def _add_image(self, message: dict[str, Any], data: bytes) -> dict[str, Any]:
        import numpy as np

        height, width = (int(v) for v in message["shape"][:2])
        if len(data) != height * width * 3:
            return {"error": f"image {message.get('id')!r}: {len(data)} bytes for {width}x{height}"}
        pixels = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
        ref = self.host.store.add(pixels)
        if ref.id != message.get("id"):
            return {"error": f"image id mismatch: sent {message.get('id')!r}, content is {ref.id}"}
        return {"ok": ref.id}

    def close(self) -> None:
        self._closed.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.close()
            except OSError:
                pass

    def __enter__(self) -> HostServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class RemoteHost:
    """A CallServer that forwards calls to a :class:`HostServer` (thread-safe)."""

    def __init__(self, address: tuple[str, int], *, authkey: bytes, store: ImageStore) -> None:
        self.address = address
        self._authkey = authkey
        self.store = store
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = Client(self.address, authkey=self._authkey)
            self._local.connection = connection
            with self._lock:
                self._all.append(connection)
        return connection

    def serve(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> ServedCall:
        connection = self._connection()
        message = {
            "op": "serve",
            "method": method,
            "image": image,
            "box": None if box is None else [int(v) for v in box],
            "args": args,
        }
        for _ in range(3):
            _send(connection, message)
            reply = _receive(connection)
            if "ok" in reply:
                return ServedCall.from_dict(reply["ok"])
            if "missing" not in reply:
                raise RuntimeError(f"model host server: {reply.get('error', reply)}")
            for image_id in reply["missing"]:
                self._upload(connection, image_id)
        raise RuntimeError("model host server keeps asking for images it was sent")

    def _upload(self, connection: Connection, image_id: str) -> None:
        pixels = self.store.pixels(image_id)
        _send(connection, {"op": "add_image", "id": image_id, "shape": list(pixels.shape)})
        connection.send_bytes(pixels.tobytes())
        reply = _receive(connection)
        if "ok" not in reply:
            raise RuntimeError(f"model host server refused image {image_id}: {reply.get('error')}")

    def stats(self) -> dict[str, Any]:
        connection = self._connection()
        _send(connection, {"op": "stats"})
        return _receive(connection)["ok"]

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            try:
                _send(connection, {"op": "close"})
                connection.close()
            except OSError:
                pass


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vipexec.modules.models.remote``: run a host server until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m vipexec.modules.models.remote")
    parser.add_argument("--config", default=None, help="models config file")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--address", default="127.0.0.1:7787", help="host:port to listen on")
    parser.add_argument("--device", default=None, help="cpu, auto or cuda:0,cuda:1")
    options = parser.parse_args(argv)
    key = os.environ.get(AUTHKEY_ENV)
    if not key:
        print(f"error: set ${AUTHKEY_ENV} (shared with the clients)", file=sys.stderr)
        return 2
    from vipexec.modules.models.cli import build_call_server
    from vipexec.modules.models.errors import ConfigError

    try:
        host = build_call_server(options.config, options.profile, device=options.device)
        address = parse_address(options.address)
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = HostServer(host, address, authkey=key.encode())
    bound_host, bound_port = server.address
    print(
        f"model host serving profile {host.profile.name!r} on {bound_host}:{bound_port}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        host.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
