"""What crosses the pipes between the pool and a worker: JSON messages and two fixed binary
frames, never pickles.

A worker runs hostile code, so nothing it sends may be able to run code in the parent: messages
are JSON (decoding JSON runs no code) or a fixed binary layout parsed field by field, bounded in
size, and checked for shape; a frame that does not parse is a :class:`ProtocolError` (the pool
kills the worker that sent it). Program inputs cross as plain data, with image and video
references tagged so they can be rebuilt.

The frames of the hot path, an API call and its answer, are binary: a fixed header (tag, job,
call number, lengths or flags) and one JSON value for the data of variable shape, with no
envelope dicts to build, encode, decode and look up on either side:

- call (worker to parent): ``b"C"``, job (u64), call (u32), method length (u16), image id length
  (u16, ``0xFFFF`` for none), the method and image id (UTF-8), then JSON ``[box, args]``;
- reply (parent to worker): ``b"R"``, job (u64), call (u32), flags (u8: abandoned, cache hit
  known, cache hit), ms (f64), then JSON ``[result, backend, model, error, error_type]``
  (empty when abandoned).
"""

from __future__ import annotations

import json
import struct
from typing import TYPE_CHECKING, Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.plain_data import PLAIN_SCALARS, NotPlainData, plain_copy
from vipexec.modules.dispatch import ServedCall
from vipexec.modules.refs import ImageRef, VideoRef

if TYPE_CHECKING:
    from vipexec.sandbox.isolation.channel import Channel

MAX_MESSAGE_BYTES = 64 * 1024 * 1024
"""a trace is bounded far below this; anything larger is a misbehaving worker"""


class ProtocolError(Exception):
    """A worker sent something that is not a well-formed message."""


_ENCODER = json.JSONEncoder(separators=(",", ":"))
"""one encoder for every message (``json.dumps`` with options builds a new one per call)"""


_SCAN = json.JSONDecoder().scan_once
"""the C scanner of a JSON value (``json.loads`` on bytes first sniffs their encoding and
matches whitespace: 3-4x the cost for a small frame)"""


def _json_value(data: bytes) -> Any:
    """The one JSON value that is all of ``data`` (UTF-8); ``ValueError``, ``StopIteration``
    or ``RecursionError`` if it is not one."""
    text = data.decode()
    value, end = _SCAN(text, 0)
    if end != len(text):
        raise ValueError("data after the JSON value")
    return value


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


def send(channel: Channel, message: dict[str, Any]) -> None:
    channel.send(encode(message))


def decode(frame: bytes) -> dict[str, Any]:
    """A JSON message; :class:`ProtocolError` if it is not one."""
    try:
        message = _json_value(frame)
    except (ValueError, StopIteration, RecursionError) as exc:
        raise ProtocolError(f"undecodable message ({type(exc).__name__})") from None
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("message without an 'op'")
    return message


def receive(channel: Channel) -> dict[str, Any]:
    """The next JSON message; EOFError/OSError when the other side is gone, ProtocolError if
    garbled."""
    return decode(channel.receive())


# --- API calls and their answers (binary frames) ---------------------------------------------

CALL_TAG = b"C"
REPLY_TAG = b"R"
_CALL_HEAD = struct.Struct("<cQIHH")
_REPLY_HEAD = struct.Struct("<cQIBd")
_NO_IMAGE = 0xFFFF
_ABANDONED, _CACHE_KNOWN, _CACHE_HIT = 1, 2, 4


def encode_call(
    job: int, call: int, method: str, image: str | None, box: Any, args: dict[str, Any]
) -> bytes:
    """A call frame (``TypeError``/``ValueError`` when ``box`` or ``args`` is not JSON data)."""
    name = method.encode()
    image_id = image.encode() if image is not None else b""
    head = _CALL_HEAD.pack(
        CALL_TAG, job, call, len(name), len(image_id) if image is not None else _NO_IMAGE
    )
    box = list(box) if box is not None else None
    return b"".join((head, name, image_id, _ENCODER.encode([box, args]).encode()))


def is_call(frame: bytes) -> bool:
    return frame[:1] == CALL_TAG


def decode_call(frame: bytes) -> tuple[int, int, str, str | None, list | None, dict[str, Any]]:
    """``(job, call, method, image, box, args)`` of a call frame, checked for shape only (the
    call server checks the values); :class:`ProtocolError` if it does not parse."""
    try:
        _, job, call, name_length, image_length = _CALL_HEAD.unpack_from(frame)
        start = _CALL_HEAD.size
        method = frame[start : start + name_length].decode()
        start += name_length
        image = None
        if image_length != _NO_IMAGE:
            image = frame[start : start + image_length].decode()
            start += image_length
        box, args = _json_value(frame[start:])
    except (struct.error, ValueError, TypeError, StopIteration, RecursionError) as exc:
        raise ProtocolError(f"undecodable call ({type(exc).__name__})") from None
    if (
        len(method) != name_length
        or (image is not None and len(image.encode()) != image_length)
        or not (box is None or type(box) is list)
        or type(args) is not dict
    ):
        raise ProtocolError("a call frame of the wrong shape")
    return job, call, method, image, box, args


def encode_reply(job: int, call: int, served: ServedCall) -> bytes:
    """A reply frame (``TypeError``/``ValueError``/:class:`MessageTooLarge` when the result is
    not plain JSON data or too large)."""
    flags = 0
    if served.cache_hit is not None:
        flags = _CACHE_KNOWN | (_CACHE_HIT if served.cache_hit else 0)
    body = [served.result, served.backend, served.model, served.error, served.error_type]
    data = _ENCODER.encode(body).encode()
    if len(data) > MAX_MESSAGE_BYTES - _REPLY_HEAD.size:
        raise MessageTooLarge(f"{len(data) / 2**20:.0f} MB")
    return _REPLY_HEAD.pack(REPLY_TAG, job, call, flags, float(served.ms)) + data


def encode_abandoned(job: int, call: int) -> bytes:
    """The reply to a call abandoned at its program's deadline."""
    return _REPLY_HEAD.pack(REPLY_TAG, job, call, _ABANDONED, 0.0)


def decode_reply(frame: bytes) -> tuple[int, int, ServedCall | None]:
    """``(job, call, served)`` of a reply frame, ``served`` None when the call was abandoned;
    :class:`ProtocolError` if it does not parse."""
    try:
        tag, job, call, flags, ms = _REPLY_HEAD.unpack_from(frame)
        if tag != REPLY_TAG:
            raise ValueError(tag)
        if flags & _ABANDONED:
            return job, call, None
        body = _json_value(frame[_REPLY_HEAD.size :])
        if type(body) is not list:
            raise ValueError("not a list")
        result, backend, model, error, error_type = body
        cache_hit = bool(flags & _CACHE_HIT) if flags & _CACHE_KNOWN else None
        return job, call, ServedCall(result, ms, backend, cache_hit, model, error, error_type)
    except (struct.error, ValueError, TypeError, StopIteration, RecursionError) as exc:
        raise ProtocolError(f"undecodable reply ({type(exc).__name__})") from None


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
