"""One end of the pipes between the pool and a worker: length-prefixed frames, read defensively.

A worker and the pool talk over two pipes, one each way (a pipe round trip between two
processes costs about half that of a Unix socket pair, which allocates a buffer per message).
A frame is a 4-byte little-endian length and that many bytes. Each frame is written with one
``write`` (a loop only when the kernel takes part of it), and a reader takes whatever the pipe
holds in one ``read`` and keeps what is past the frame for the next one: an API call costs one
system call each way on each side (``multiprocessing``'s ``Connection`` reads the length and
the body separately, and copies both).

A worker runs hostile code, so its frames are never trusted: a length over the reader's limit is
a :class:`~vipexec.sandbox.isolation.messages.ProtocolError` before anything is allocated for it.
One thread reads a channel at a time; writers take care of their own ordering (see
:mod:`vipexec.sandbox.isolation.serving`).
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import time

from vipexec.sandbox.isolation.messages import MAX_MESSAGE_BYTES, ProtocolError

_LENGTH = struct.Struct("<I")
_READ_SIZE = 1 << 16
"""bytes asked for per read: any call or reply fits in one"""
_LARGE_READ = 1 << 20
"""bytes asked for per read while a large frame (a long trace) comes in"""


class Channel:
    """Frames read from one pipe and written to another (both file descriptors owned: closed by
    :meth:`close`).

    With ``send_timeout`` (seconds), the write end is made non-blocking and a write that cannot
    go on for that long fails with ``TimeoutError``: a worker that stops reading (compromised)
    must not block a writer in the parent forever.
    """

    def __init__(
        self,
        read_fd: int,
        write_fd: int,
        *,
        limit: int = MAX_MESSAGE_BYTES,
        send_timeout: float | None = None,
    ) -> None:
        self._read_fd = read_fd
        self._write_fd = write_fd
        self._limit = limit
        self._send_timeout = send_timeout
        if send_timeout is not None:
            os.set_blocking(write_fd, False)
        self._pending = bytearray()
        self.closed = False

    def send(self, data: bytes) -> None:
        """Write one frame; ``OSError`` when the other side is gone or does not read."""
        if self.closed:
            raise OSError("the channel is closed")
        frame = _LENGTH.pack(len(data)) + data
        try:
            written = os.write(self._write_fd, frame)
        except BlockingIOError:
            written = 0
        if written < len(frame):  # a large frame, or a full pipe
            self._send_rest(memoryview(frame)[written:])

    def _send_rest(self, view: memoryview) -> None:
        deadline = None if self._send_timeout is None else time.monotonic() + self._send_timeout
        poller = select.poll()
        poller.register(self._write_fd, select.POLLOUT)
        while view:
            try:
                view = view[os.write(self._write_fd, view) :]
                continue
            except BlockingIOError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the other side stopped reading")
            poller.poll(left * 1000)

    def receive(self) -> bytes:
        """The next frame; ``EOFError`` when the other side closed, :class:`ProtocolError` for
        a length over the limit."""
        pending = self._pending
        while True:
            if len(pending) >= 4:
                (size,) = _LENGTH.unpack_from(pending)
                if size > self._limit:
                    raise ProtocolError("a message over the size limit")
                end = 4 + size
                if len(pending) >= end:
                    frame = bytes(pending[4:end])
                    del pending[:end]
                    return frame
                wanted = min(max(end - len(pending), _READ_SIZE), _LARGE_READ)
            else:
                wanted = _READ_SIZE
            if self.closed:  # its fd number may already belong to another file
                raise OSError("the channel is closed")
            chunk = os.read(self._read_fd, wanted)
            if not chunk:
                raise EOFError("the other side closed the channel")
            if not pending and len(chunk) >= 4:
                # The common case: exactly one whole frame arrived (no copy through the buffer).
                (size,) = _LENGTH.unpack_from(chunk)
                if len(chunk) == 4 + size and size <= self._limit:
                    return chunk[4:]
            pending += chunk

    def poll(self, timeout: float) -> bool:
        """Whether a frame (or the end of the stream) can be read within ``timeout`` seconds."""
        if len(self._pending) >= 4:
            return True
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for fd in (self._read_fd, self._write_fd):
                with contextlib.suppress(OSError):
                    os.close(fd)
