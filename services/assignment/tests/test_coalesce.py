"""The hot path's request coalescing (hotpath/coalesce.py): plain asyncio, no database."""
import asyncio

import pytest

from assay_assignment.hotpath.coalesce import Coalescer


class Recorder:
    """run_one / run_many that take a little time, record what they were given and refuse item 'bad'."""

    def __init__(self, *, many_fails_with=None):
        self.calls, self.many_fails_with = [], many_fails_with

    async def one(self, key, item):
        self.calls.append((key, [item]))
        await asyncio.sleep(0.01)
        if item == "bad":
            raise ValueError("bad item")
        return f"{key}:{item}"

    async def many(self, key, items):
        self.calls.append((key, list(items)))
        await asyncio.sleep(0.01)
        if self.many_fails_with is not None:
            raise self.many_fails_with
        if "bad" in items:
            raise ValueError("the batch carries a bad item")
        return [f"{key}:{item}" for item in items]


def run(coro):
    return asyncio.run(coro)


def test_a_lone_request_runs_at_once_and_alone():
    rec = Recorder()
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many)
    assert run(coalescer("k", 1)) == "k:1"
    assert rec.calls == [("k", [1])]


def test_requests_arriving_while_calls_run_share_the_next_call_in_order():
    rec = Recorder()
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many, max_inflight=1)

    async def main():
        return await asyncio.gather(*(coalescer("k", i) for i in range(5)))

    assert run(main()) == [f"k:{i}" for i in range(5)]
    assert rec.calls == [("k", [0]), ("k", [1, 2, 3, 4])]


def test_batches_are_capped_and_keys_never_mix():
    rec = Recorder()
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many, max_batch=2, max_inflight=1)

    async def main():
        return await asyncio.gather(*(coalescer(key, i) for i in range(4) for key in ("a", "b")))

    assert run(main()) == [f"{key}:{i}" for i in range(4) for key in ("a", "b")]
    assert all(len(items) <= 2 for _, items in rec.calls)
    assert sorted(i for key, items in rec.calls if key == "a" for i in items) == [0, 1, 2, 3]
    assert sorted(i for key, items in rec.calls if key == "b" for i in items) == [0, 1, 2, 3]


def test_at_most_max_inflight_calls_per_key():
    running, peak = 0, 0

    async def one(key, item):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        return item

    async def many(key, items):
        return [await one(key, item) for item in items]

    coalescer = Coalescer(run_one=one, run_many=many, max_inflight=2)

    async def main():
        return await asyncio.gather(*(coalescer("k", i) for i in range(20)))

    assert run(main()) == list(range(20))
    assert peak <= 2


def test_a_batch_refused_as_a_whole_is_run_one_by_one_and_only_the_bad_request_fails():
    rec = Recorder()
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many, max_inflight=1)

    async def main():
        return await asyncio.gather(*(coalescer("k", i) for i in (0, 1, "bad", 3)), return_exceptions=True)

    out = run(main())
    assert out[:2] == ["k:0", "k:1"] and out[3] == "k:3"
    assert isinstance(out[2], ValueError) and str(out[2]) == "bad item"
    # the lone first request, the failed batch, then its requests one by one
    assert rec.calls == [("k", [0]), ("k", [1, "bad", 3]), ("k", [1]), ("k", ["bad"]), ("k", [3])]


def test_a_lost_batch_call_is_retried_per_request():
    rec = Recorder(many_fails_with=ConnectionError("connection lost"))
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many, max_inflight=1)

    async def main():
        return await asyncio.gather(*(coalescer("k", i) for i in range(3)))

    assert run(main()) == ["k:0", "k:1", "k:2"]


def test_a_request_that_gives_up_does_not_stall_the_others():
    rec = Recorder()
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many, max_inflight=1)

    async def main():
        first = asyncio.ensure_future(coalescer("k", 0))
        queued = [asyncio.ensure_future(coalescer("k", i)) for i in (1, 2)]
        await asyncio.sleep(0)
        queued[0].cancel()
        results = await asyncio.gather(first, queued[1], return_exceptions=True)
        return results, queued[0].cancelled()

    (results, cancelled) = run(main())
    assert results == ["k:0", "k:2"] and cancelled
    assert coalescer._keys == {}


@pytest.mark.parametrize("size", [1, 16])
def test_nothing_is_left_behind(size):
    rec = Recorder()
    coalescer = Coalescer(run_one=rec.one, run_many=rec.many, max_batch=4)

    async def main():
        return await asyncio.gather(*(coalescer("k", i) for i in range(size)))

    assert run(main()) == [f"k:{i}" for i in range(size)]
    assert coalescer._keys == {}
