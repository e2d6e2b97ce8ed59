"""The frames between the pool and a worker: binary call/reply frames round-trip, anything a
hostile worker could write is a ProtocolError (never another exception, never a pickle), and
the pipe channel reads frames whole however the bytes arrive."""

import os
import queue
import struct
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vipexec.modules.dispatch import ServedCall
from vipexec.sandbox.isolation import messages
from vipexec.sandbox.isolation.channel import Channel
from vipexec.sandbox.isolation.serving import WorkerLine


@pytest.fixture
def pair():
    """Two channels joined by two pipes (parent, worker), closed after the test."""
    to_worker_r, to_worker_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    parent = Channel(to_parent_r, to_worker_w, send_timeout=0.2)
    worker = Channel(to_worker_r, to_parent_w)
    yield parent, worker
    parent.close()
    worker.close()


@pytest.mark.parametrize(
    ("method", "image", "box", "args"),
    [
        ("llm_query", None, None, {"question": "is it?", "long_answer": False}),
        ("find", "img-0123", [0, 0, 64, 48], {"object_name": "red ✓ circle"}),
        ("best_text_match", "", (1, 2, 3, 4), {"options": ["a", "b"], "nested": {"k": [1.5]}}),
    ],
)
def test_a_call_frame_round_trips(method, image, box, args):
    frame = messages.encode_call(7, 42, method, image, box, args)
    assert messages.is_call(frame)
    expected_box = list(box) if box is not None else None
    assert messages.decode_call(frame) == (7, 42, method, image, expected_box, args)


@pytest.mark.parametrize(
    "served",
    [
        ServedCall("yes", 0.25, "synthetic"),
        ServedCall([[1, 2, 3, 4]], 3.5, "models", cache_hit=True, model="owlv2"),
        ServedCall(None, 1.0, "models", cache_hit=False, error="ValueError: no", error_type="E"),
    ],
)
def test_a_reply_frame_round_trips(served):
    frame = messages.encode_reply(3, 9, served)
    assert not messages.is_call(frame)
    assert messages.decode_reply(frame) == (3, 9, served)


def test_an_abandoned_reply_has_no_answer():
    assert messages.decode_reply(messages.encode_abandoned(5, 2)) == (5, 2, None)


def test_a_reply_that_cannot_cross_is_refused_when_encoded():
    with pytest.raises(TypeError):
        messages.encode_reply(1, 1, ServedCall(object(), 0.0, "x"))


_CALL = messages.encode_call(1, 1, "find", "img", [0, 0, 4, 4], {"object_name": "cat"})
_HEAD = struct.calcsize("<cQIHH")


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"C",
        _CALL[:_HEAD],  # no JSON part
        _CALL[:-1],  # JSON cut short
        _CALL + b" ",  # data after the JSON value
        _CALL.replace(b"img", b"\xff\xfeg"),  # an image id that is not UTF-8
        struct.pack("<cQIHH", b"C", 1, 1, 60_000, 0xFFFF) + b"find[null,{}]",  # lengths lie
        struct.pack("<cQIHH", b"C", 1, 1, 4, 0xFFFF) + b'find[null,["not", "a dict"]]',
        struct.pack("<cQIHH", b"C", 1, 1, 4, 0xFFFF) + b'find[7,{"a":1}]',  # box not a list
        struct.pack("<cQIHH", b"C", 1, 1, 4, 0xFFFF) + b'find{"box":1,"args":2}',
        struct.pack("<cQIHH", b"C", 1, 1, 4, 0xFFFF) + b"find" + b"[" * 100_000,
    ],
)
def test_a_malformed_call_frame_is_a_protocol_error(frame):
    with pytest.raises(messages.ProtocolError):
        messages.decode_call(frame)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_no_bytes_decode_as_anything_but_a_frame_or_a_protocol_error(data):
    for decode in (messages.decode_call, messages.decode_reply, messages.decode):
        try:
            decode(data)
        except messages.ProtocolError:
            pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(_CALL) - 1), st.integers(0, 255))
def test_a_call_frame_with_any_byte_changed_decodes_or_is_refused(position, value):
    frame = bytearray(_CALL)
    frame[position] = value
    try:
        _, _, method, image, box, args = messages.decode_call(bytes(frame))
    except messages.ProtocolError:
        return
    assert type(method) is str and type(args) is dict and (box is None or type(box) is list)
    assert image is None or type(image) is str


def test_frames_are_read_whole_however_the_bytes_arrive(pair):
    parent, worker = pair
    frames = [b"one", b"", b"x" * 100_000, b"{}"]
    raw = b"".join(struct.pack("<I", len(f)) + f for f in frames)

    def trickle():  # byte by byte at first, then the rest in one write
        for i in range(6):
            os.write(worker._write_fd, raw[i : i + 1])
        os.write(worker._write_fd, raw[6:])

    writer = threading.Thread(target=trickle)
    writer.start()
    assert [parent.receive() for _ in frames] == frames
    writer.join()


def test_a_length_over_the_limit_is_refused_before_its_body_is_read(pair):
    parent, worker = pair
    os.write(worker._write_fd, struct.pack("<I", messages.MAX_MESSAGE_BYTES + 1))
    with pytest.raises(messages.ProtocolError, match="size limit"):
        parent.receive()


def test_the_end_of_the_pipe_is_eof(pair):
    parent, worker = pair
    worker.send(b"last")
    worker.close()
    assert parent.receive() == b"last"
    with pytest.raises(EOFError):
        parent.receive()


def test_a_side_that_stops_reading_makes_the_parents_write_time_out(pair):
    parent, _ = pair
    with pytest.raises(TimeoutError):
        parent.send(b"x" * (4 << 20))  # more than a pipe holds; nobody reads


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        (b"C\x00garbage", "undecodable call"),
        (messages.encode_call(99, 1, "llm_query", None, None, {"question": "q"}), "job 99"),
        (b"not json", "undecodable message"),
    ],
)
def test_a_malformed_frame_ends_the_job_as_malformed_and_the_line_stops_reading(pair, frame, why):
    parent, worker = pair
    served = []

    class Server:
        def serve(self, *call):
            served.append(call)
            return ServedCall("yes", 0.0, "test")

    broken = []
    line = WorkerLine(parent, Server(), broken.append)
    outcomes = line.start(1)
    worker.send(messages.encode_call(1, 1, "llm_query", None, None, {"question": "q"}))
    assert messages.decode_reply(worker.receive()) == (1, 1, ServedCall("yes", 0.0, "test"))
    worker.send(frame)
    kind, error = outcomes.get(timeout=10)
    assert kind == "malformed" and isinstance(error, messages.ProtocolError)
    assert why in str(error)
    assert len(served) == 1 and not broken
    worker.send(messages.encode_call(1, 2, "llm_query", None, None, {"question": "q"}))
    with pytest.raises(queue.Empty):
        outcomes.get(timeout=0.2)  # nobody reads this worker any more
    assert len(served) == 1
    line.close()


def test_a_closed_channel_neither_reads_nor_writes(pair):
    parent, _ = pair
    parent.close()
    with pytest.raises(OSError, match="closed"):
        parent.receive()
    with pytest.raises(OSError, match="closed"):
        parent.send(b"x")
