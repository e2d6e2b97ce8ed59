"""What crosses the pipe between the pool and a worker: JSON messages, never pickles.

A worker runs hostile code, so nothing it sends may be able to run code in the parent: messages
are JSON (decoding JSON runs no code), bounded in size, and checked for shape. Program inputs
cross as plain data, with image and video references tagged so they can be rebuilt.
"""

from __future__ import annotations

import json
from multiprocessing.connection import Connection
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.plain_data import PLAIN_SCALARS, NotPlainData, plain_copy
from vipexec.modules.refs import ImageRef, VideoRef

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""a trace is bounded far below this; anything larger is a misbehaving worker"""


class ProtocolError(Exception):
    """A worker sent something that is not a well-formed message."""


_ENCODER = json.JSONEncoder(separators=(",", ":"))
"""one encoder for every message (``json.dumps`` with options builds a new one per call)"""


class MessageTooLarge(ValueError):
    """A message over :data:`MAX_MESSAGE_BYTES`: the other side would refuse it."""


def encode(message: dict[str, Any]) -> bytes:
    """The wire form of a message; ``TypeError``/``ValueError``/``RecursionError`` when it is
    not plain JSON data, :class:`MessageTooLarge` when the other side would refuse it."""
    data = _ENCODER.encode(message).encode()
    if len(data) > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(
            f"{len(data) / 2**20:.0f} MB; the limit is {MAX_MESSAGE_BYTES // 2**20} MB"
        )
    return data


def send(conn: Connection, message: dict[str, Any]) -> None:
    conn.send_bytes(encode(message))


def receive(conn: Connection) -> dict[str, Any]:
    """One message; EOFError/OSError when the other side is gone, ProtocolError if garbled."""
    try:
        data = conn.recv_bytes(MAX_MESSAGE_BYTES)
    except OSError as exc:
        if exc.args == ("bad message length",):  # multiprocessing's word for "over maxlength"
            raise ProtocolError("a message over the size limit") from None
        raise
    try:
        message = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"undecodable message ({type(exc).__name__})") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("message without an 'op'")
    return message


# --- program inputs ------------------------------------------------------------------------


def encode_value(value: Any, where: str = "input") -> Any:
    """Plain data as it is (tuples become lists); image/video references as tagged dicts."""
    kind = type(value)
    if kind in PLAIN_SCALARS:
        return value
    if kind is ImageRef:
        return {"$image": [value.id, value.width, value.height]}
    if kind is VideoRef:
        return {
            "$video": [value.id, value.num_frames, value.width, value.height, list(value.frame_ids)]
        }
    if kind in (list, tuple):
        return [encode_value(item, where) for item in value]
    if kind is dict:
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise InvalidArgumentError(f"{where}: dict keys must be plain strings, got {key!r}")
            out[key] = encode_value(item, where)
        return out
    raise InvalidArgumentError(
        f"{where}: a {kind.__name__} cannot be sent to a sandbox worker; pass images as paths, "
        "arrays or ImageRefs and other inputs as plain data"
    )


def decode_value(value: Any) -> Any:
    if type(value) is list:
        return [decode_value(item) for item in value]
    if type(value) is dict:
        if "$image" in value:
            image_id, width, height = value["$image"]
            return ImageRef(str(image_id), int(width), int(height))
        if "$video" in value:
            video_id, frames, width, height, frame_ids = value["$video"]
            return VideoRef(str(video_id), int(frames), int(width), int(height), tuple(frame_ids))
        return {key: decode_value(item) for key, item in value.items()}
    return value


def plain_or_none(value: Any) -> tuple[bool, Any]:
    """``(True, copy)`` when ``value`` is plain JSON data small enough to send whole (at most
    10,000 entries per container, 20 levels, ints within 2**63), else ``(False, None)``."""
    try:
        return True, plain_copy(value, max_depth=20, max_items=10_000, max_int=2**63)
    except NotPlainData:
        return False, None
