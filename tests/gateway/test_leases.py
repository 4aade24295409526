from __future__ import annotations

from gateway.foundation.clock import FakeClock
from gateway.foundation.leases import LeaseTable


async def test_lease_lapses_after_ttl_unless_renewed() -> None:
    clock = FakeClock()
    leases = LeaseTable(clock)
    lapsed: list[str] = []

    async def fallback(reason: str) -> None:
        lapsed.append(reason)

    lease = leases.grant("bess-1", 10, fallback)
    assert lease.expires_at == clock.time() + 10
    await clock.advance(8)
    leases.check()
    leases.grant("bess-1", 10, fallback)  # renewed at t=8: now lapses at t=18
    await clock.advance(8)
    leases.check()
    await leases.settle()
    assert lapsed == []
    await clock.advance(3)
    leases.check()
    await leases.settle()
    assert lapsed == ["lease_expired"]
    assert leases.get("bess-1") is None


async def test_losing_mqtt_lapses_ttl_leases_only() -> None:
    leases = LeaseTable(FakeClock())
    lapsed: list[tuple[str, str]] = []

    def fallback(key: str):  # type: ignore[no-untyped-def]
        async def call(reason: str) -> None:
            lapsed.append((key, reason))

        return call

    leases.grant("with-ttl", 60, fallback("with-ttl"))
    leases.grant("standing", None, fallback("standing"))
    leases.mqtt_connection_changed(True)
    leases.mqtt_connection_changed(False)
    await leases.settle()
    assert lapsed == [("with-ttl", "mqtt_lost")]
    assert leases.get("standing") is not None


async def test_run_loop_uses_the_injected_clock() -> None:
    import asyncio

    clock = FakeClock()
    leases = LeaseTable(clock, tick_s=1)
    lapsed: list[str] = []

    async def fallback(reason: str) -> None:
        lapsed.append(reason)

    leases.grant("x", 5, fallback)
    task = asyncio.create_task(leases.run())
    for _ in range(6):
        await clock.advance(1)
    await leases.settle()
    assert lapsed == ["lease_expired"]
    task.cancel()
