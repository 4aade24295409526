"""The outbox's database thread: jobs run one at a time, in order, off the event loop's
thread; each caller gets its own result or exception; a job submitted while another runs is
not lost (the wake-up already due); a cancelled caller does not stop the queue; `stop()`
finishes what was submitted."""

from __future__ import annotations

import asyncio
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.outbox_thread import OutboxThread


class Boom(Exception):
    pass


def job(log: list[tuple[int, str]], n: int, fail: bool) -> int:
    log.append((n, threading.current_thread().name))
    if fail:
        raise Boom(n)
    return n * 10


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=40), st.integers(min_value=0, max_value=3))
def test_jobs_run_in_order_on_the_thread_and_each_caller_gets_its_outcome(
    fails: list[bool], pause_every: int
) -> None:
    async def scenario() -> None:
        thread = OutboxThread("outbox-db-test")
        log: list[tuple[int, str]] = []
        tasks = []
        for n, fail in enumerate(fails):
            tasks.append(asyncio.create_task(thread.run(job, log, n, fail)))
            if pause_every and n % pause_every == 0:
                await asyncio.sleep(0)  # some jobs submitted while the worker runs others
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        await thread.stop()
        assert [n for n, _ in log] == list(range(len(fails)))
        assert {name for _, name in log} <= {"outbox-db-test"}
        for n, (fail, outcome) in enumerate(zip(fails, outcomes, strict=True)):
            if fail:
                assert isinstance(outcome, Boom) and outcome.args == (n,)
            else:
                assert outcome == n * 10

    asyncio.run(scenario())


async def test_a_job_submitted_while_the_worker_is_busy_runs_after_it() -> None:
    thread = OutboxThread("outbox-db-test")
    started, release = threading.Event(), threading.Event()

    def held() -> str:
        started.set()
        release.wait(5)
        return "held"

    first = asyncio.create_task(thread.run(held))
    while not started.is_set():
        await asyncio.sleep(0.001)
    second = asyncio.create_task(thread.run(lambda: "second"))
    third = asyncio.create_task(thread.run(lambda: "third"))
    await asyncio.sleep(0.05)
    assert not second.done()
    release.set()
    assert await asyncio.wait_for(asyncio.gather(first, second, third), 5) == [
        "held",
        "second",
        "third",
    ]
    await thread.stop()


async def test_a_cancelled_caller_leaves_its_job_to_run_and_the_queue_moving() -> None:
    thread = OutboxThread("outbox-db-test")
    ran = threading.Event()
    release = threading.Event()

    def slow() -> None:
        release.wait(5)
        ran.set()

    caller = asyncio.create_task(thread.run(slow))
    await asyncio.sleep(0.02)
    caller.cancel()
    release.set()
    assert await asyncio.wait_for(thread.run(lambda: 7), 5) == 7
    assert ran.is_set()
    await thread.stop()


async def test_stop_finishes_what_was_submitted_and_ends_the_thread() -> None:
    thread = OutboxThread("outbox-db-test")
    done: list[int] = []
    tasks = [asyncio.create_task(thread.run(done.append, n)) for n in range(5)]
    await asyncio.sleep(0)
    await thread.stop()
    await asyncio.gather(*tasks)
    assert done == [0, 1, 2, 3, 4]
    await asyncio.sleep(0.05)
    assert not any(t.name == "outbox-db-test" for t in threading.enumerate())
    await thread.stop()  # twice: nothing to do
