"""The call cache: stable content keys, an LRU in memory, a sqlite file that outlives it."""

from __future__ import annotations

import threading

import pytest

from vipexec.modules.models.cache import CallCache, call_key


def test_keys_are_stable_and_depend_on_every_part():
    base = call_key("m@1", "find", "abc", (0, 0, 10, 10), {"object_name": "cat"})
    assert base == call_key("m@1", "find", "abc", [0, 0, 10, 10], {"object_name": "cat"})
    assert len(base) == 64
    variants = [
        call_key("m@2", "find", "abc", (0, 0, 10, 10), {"object_name": "cat"}),
        call_key("m@1", "exists", "abc", (0, 0, 10, 10), {"object_name": "cat"}),
        call_key("m@1", "find", "abd", (0, 0, 10, 10), {"object_name": "cat"}),
        call_key("m@1", "find", "abc", (0, 0, 10, 11), {"object_name": "cat"}),
        call_key("m@1", "find", "abc", (0, 0, 10, 10), {"object_name": "dog"}),
    ]
    assert len({base, *variants}) == 6
    # argument order does not matter
    a = call_key("m", "verify_property", "i", None, {"object_name": "x", "attribute": "red"})
    b = call_key("m", "verify_property", "i", None, {"attribute": "red", "object_name": "x"})
    assert a == b


def test_lru_keeps_the_most_recent_entries():
    cache = CallCache(max_entries=2)
    cache.put("a", [1])
    cache.put("b", [2])
    assert cache.lookup("a") == (True, [1])  # a is now the most recent
    cache.put("c", [3])
    assert cache.lookup("b") == (False, None)
    assert cache.get("a") == [1] and cache.get("c") == [3]
    assert cache.stats()["memory_entries"] == 2
    assert cache.hits == 3 and cache.misses == 1


def test_sqlite_file_outlives_the_process_cache(tmp_path):
    path = tmp_path / "sub" / "calls.sqlite"
    first = CallCache(path=path)
    first.put("k", [[1, 2, 3, 4]])
    first.put("s", "a string")
    first.close()
    second = CallCache(path=path, max_entries=10)
    assert second.lookup("k") == (True, [[1, 2, 3, 4]])
    assert second.get("s") == "a string"
    assert second.stats()["disk_hits"] == 2 and second.stats()["disk_entries"] == 2
    second.clear(disk=True)
    assert second.lookup("k") == (False, None)
    second.close()


def test_concurrent_puts_and_gets(tmp_path):
    cache = CallCache(max_entries=1000, path=tmp_path / "c.sqlite")

    def work(offset):
        for i in range(50):
            cache.put(f"{offset}-{i}", i)
            assert cache.get(f"{offset}-{i}") == i

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.stats()["disk_entries"] == 400
    cache.close()


def test_bad_size_is_refused():
    with pytest.raises(ValueError, match="max_entries"):
        CallCache(max_entries=-1)
