"""Rows handed in while a commit runs share the next one; each caller returns once its rows
are written, in the order handed in; a failed commit fails exactly its callers."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.group_commit import GroupCommit


class Disk:
    """Commits that take a turn of the loop each, as a write in a thread does."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.commits: list[list[int]] = []
        self.fail_on = fail_on

    async def write(self, rows: list[int]) -> None:
        await asyncio.sleep(0.001)
        if self.fail_on is not None and self.fail_on in rows:
            raise OSError("disk full")
        self.commits.append(rows)


@settings(max_examples=50, deadline=None)
@given(batches=st.lists(st.lists(st.integers(0, 10**6), max_size=5), max_size=40))
def test_every_row_is_committed_once_in_order_before_its_caller_returns(
    batches: list[list[int]],
) -> None:
    async def run() -> None:
        disk = Disk()
        commits = GroupCommit(disk.write)

        async def save(rows: list[int]) -> None:
            await commits.add(rows)
            written = [r for c in disk.commits for r in c]
            n = len(rows)
            assert any(written[i : i + n] == rows for i in range(len(written) - n + 1))

        await asyncio.gather(*(save(b) for b in batches))
        assert [r for c in disk.commits for r in c] == [r for b in batches for r in b]
        if len(batches) > 2:
            assert len(disk.commits) < len(batches)  # they shared commits

    asyncio.run(run())


async def test_a_failed_commit_fails_its_callers_and_the_next_one_goes_on() -> None:
    disk = Disk(fail_on=13)
    commits = GroupCommit(disk.write)
    first = asyncio.create_task(commits.add([1]))
    await asyncio.sleep(0)  # the first commit is running
    failing = asyncio.gather(commits.add([13]), commits.add([14]), return_exceptions=True)
    await first  # its commit went through
    assert [type(e) for e in await failing] == [OSError, OSError]
    await commits.add([15])
    assert disk.commits == [[1], [15]]


async def test_cancelled_writer_cancels_its_waiting_callers() -> None:
    disk = Disk()
    commits = GroupCommit(disk.write)
    caller = asyncio.create_task(commits.add([1]))
    await asyncio.sleep(0)
    assert commits._writer is not None
    commits._writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
