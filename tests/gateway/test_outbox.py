from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from gateway.foundation.clock import FakeClock
from gateway.outbox import Outbox


async def open_outbox(path: Path, **kwargs: object) -> Outbox:
    outbox = Outbox(path, synchronous="normal", **kwargs)  # type: ignore[arg-type]
    await outbox.open()
    return outbox


async def test_records_are_stamped_with_seq_and_ts(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite", clock=FakeClock())
    outbox.put("a/telemetry", {"power_w": 5.0})
    await outbox.put("a/transaction", {"event": "started"}, droppable=False)
    rows = await outbox.fetch(0, 10)
    assert [r.seq for r in rows] == [1, 2]
    first = json.loads(rows[0].payload)
    assert first == {"seq": 1, "ts": "2026-01-01T00:00:00.000Z", "power_w": 5.0}
    assert rows[1].droppable is False
    await outbox.close()


async def test_seq_keeps_increasing_across_restarts_even_when_empty(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    outbox = await open_outbox(path)
    for i in range(5):
        outbox.put("t", {"i": i})
    await outbox.flushed()
    rows = await outbox.fetch(0, 10)
    outbox.ack(r.seq for r in rows)  # everything delivered: the table is now empty
    await outbox.close()

    outbox = await open_outbox(path)
    assert outbox.depth == 0
    await outbox.put("t", {"i": 5})
    rows = await outbox.fetch(0, 10)
    assert [r.seq for r in rows] == [6]
    await outbox.close()


async def test_fetch_waits_for_new_rows_and_skips_acknowledged(tmp_path: Path) -> None:
    outbox = await open_outbox(tmp_path / "o.sqlite")
    waiter = asyncio.create_task(outbox.fetch(0, 10))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    outbox.put("t", {"n": 1})
    rows = await asyncio.wait_for(waiter, 5)
    assert [r.seq for r in rows] == [1]
    outbox.ack([1])
    outbox.put("t", {"n": 2})
    await outbox.flushed()
    # A new session starts from 0 again and must not get the acknowledged row back.
    assert [r.seq for r in await outbox.fetch(0, 10)] == [2]
    await outbox.close()


async def test_unacknowledged_rows_survive_a_restart_in_order(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    outbox = await open_outbox(path)
    for i in range(1000):
        outbox.put("t", {"i": i})
    await outbox.flushed()
    outbox.ack(range(1, 101))
    await outbox.close()

    outbox = await open_outbox(path)
    assert outbox.depth == 900
    rows = await outbox.fetch(0, 2000)
    assert [r.seq for r in rows] == list(range(101, 1001))
    await outbox.close()


async def test_bound_drops_oldest_telemetry_never_transactions(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    outbox = await open_outbox(path, max_records=100)
    for i in range(300):
        outbox.put("tx" if i % 10 == 0 else "tm", {"i": i}, droppable=i % 10 != 0)
    await outbox.flushed()
    rows = await outbox.fetch(0, 1000)
    kept_tx = [r for r in rows if r.topic == "tx"]
    assert len(kept_tx) == 30  # every transaction event is still there
    assert len(rows) == 100
    telemetry = [r.seq for r in rows if r.topic == "tm"]
    assert telemetry == sorted(telemetry) and min(telemetry) > 200  # the newest telemetry stayed
    assert outbox.dropped == 200
    await outbox.close()

    outbox = await open_outbox(path, max_records=100)
    assert outbox.dropped == 200  # the drop counter is durable too
    await outbox.close()


PRODUCER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from gateway.outbox import Outbox

    async def main():
        outbox = Outbox(Path(sys.argv[1]), synchronous="normal")
        await outbox.open()
        i = 0
        while True:
            futures = [outbox.put("t", {"i": i + k}, droppable=bool(k % 2)) for k in range(50)]
            await asyncio.gather(*futures)
            i += 50
            print(outbox.last_seq, flush=True)

    asyncio.run(main())
    """
)


async def test_sigkill_mid_stream_loses_no_accepted_record(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", PRODUCER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    accepted = 0
    for line in proc.stdout:
        accepted = int(line)
        if accepted >= 5000:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    # Every seq printed was committed before it was printed: it must be there, in order.
    outbox = await open_outbox(path)
    rows = await outbox.fetch(0, 1_000_000)
    seqs = [r.seq for r in rows]
    assert seqs[:accepted] == list(range(1, accepted + 1))
    assert seqs == list(range(1, len(seqs) + 1))
    # ... and numbering continues after the last committed record, without a gap.
    await outbox.put("t", {"after": "restart"})
    assert (await outbox.fetch(seqs[-1], 10))[0].seq == seqs[-1] + 1
    await outbox.close()
