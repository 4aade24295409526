"""The store's periodic flush writes every reading noted since the last one, in commits of a
bounded number of rows, and durable writes made while it runs are kept too."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ocpp.core.transactions import StoredTransaction
from drivers.ocpp.transaction_store import TransactionStore


async def flushed(count: int, noted: set[int], path: Path) -> dict[str, float | None]:
    store = TransactionStore(path)
    await store.open()
    txs = [StoredTransaction(f"CP-{i}", str(i), 1, meter_start_wh=0.0) for i in range(count)]
    await asyncio.gather(*(store.save(tx) for tx in txs))
    for i in noted:
        store.note_meter(txs[i], 1000.0 + i)
    late = StoredTransaction("CP-late", "late", 1, meter_start_wh=5.0)
    await asyncio.gather(store.flush(), store.save(late))  # a durable write during the flush
    await store.close()
    again = TransactionStore(path)
    await again.open()
    try:
        stored = {f"CP-{i}": _last(again, f"CP-{i}", str(i)) for i in range(count)}
        stored["CP-late"] = _last(again, "CP-late", "late")
    finally:
        await again.close()
    return stored


def _last(store: TransactionStore, charger_id: str, tx_id: str) -> float | None:
    tx = store.get(charger_id, tx_id)
    assert tx is not None
    return tx.meter_last_wh


@settings(max_examples=8, deadline=None)
@given(data=st.data(), count=st.integers(0, 700))
def test_every_noted_reading_is_stored(data: st.DataObject, count: int) -> None:
    noted = data.draw(st.sets(st.integers(0, count - 1))) if count else set()
    with tempfile.TemporaryDirectory() as tmp:
        stored = asyncio.run(flushed(count, noted, Path(tmp) / "tx.sqlite"))
    for i in range(count):
        assert stored[f"CP-{i}"] == (1000.0 + i if i in noted else None)
    assert "CP-late" in stored


async def closed_during_a_flush(path: Path) -> tuple[BaseException | None, float | None]:
    store = TransactionStore(path)
    await store.open()
    tx = StoredTransaction("CP-1", "1", 1, meter_start_wh=0.0)
    await store.save(tx)
    store.note_meter(tx, 4321.0)
    periodic = asyncio.create_task(store.flush())  # the driver's timer fired as it stopped
    await asyncio.sleep(0)
    await store.close()
    error = (await asyncio.gather(periodic, return_exceptions=True))[0]
    again = TransactionStore(path)
    await again.open()
    try:
        return (error if isinstance(error, BaseException) else None), _last(again, "CP-1", "1")
    finally:
        await again.close()


def test_a_flush_under_way_when_the_store_closes_is_written_before_the_close(
    tmp_path: Path,
) -> None:
    """Stopping the gateway: the periodic flush had taken the readings and queued its commit
    when close() closed the database ("Cannot operate on a closed database": the readings were
    lost and the OCPP component logged a crash while the gateway stopped)."""
    error, stored = asyncio.run(closed_during_a_flush(tmp_path / "tx.sqlite"))
    assert error is None
    assert stored == 4321.0
