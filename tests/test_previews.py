"""The preview cache: answers made once, and the cache bounded in entries and in bytes."""


from aio import run_async

from server.api import Previews


class _Inline:
    """A scheduler stand-in that runs the job on the calling thread and counts the jobs."""

    def __init__(self) -> None:
        self.jobs = 0

    async def run(self, fn, *args):
        self.jobs += 1
        return fn(*args)


def _fill(previews: Previews, queries: list[tuple[str, int]]) -> _Inline:
    scheduler = _Inline()

    async def go() -> None:
        for query, points in queries:
            await previews.get(query, points, scheduler)

    run_async(go())
    return scheduler


def test_a_repeated_preview_is_made_once():
    previews = Previews()
    scheduler = _fill(previews, [("dataset=xor&seed=1", 200)] * 3)
    assert scheduler.jobs == 1


def test_big_previews_are_evicted_by_bytes_newest_kept():
    previews = Previews(size=64, max_bytes=300_000)
    queries = [(f"dataset=gauss&numSamples=5000&seed={i}", 5000) for i in range(6)]
    _fill(previews, queries)
    sizes = [len(body) for body in previews.items.values()]
    assert min(sizes) > 80_000  # each answer is a whole 5,000-point data set (94 kB)
    assert previews.bytes == sum(sizes) <= 300_000
    assert len(previews.items) < 6
    assert list(previews.items)[-1] == queries[-1]
