from __future__ import annotations

import asyncio

from gateway.sdnotify import SystemdNotifier
from gateway.supervisor import Supervisor


async def test_a_crashed_component_is_restarted_and_others_keep_running() -> None:
    supervisor = Supervisor(notifier=SystemdNotifier({}), restart_min_s=0.01, restart_max_s=0.02)
    runs = 0
    ticks = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs < 4:
            raise RuntimeError(f"crash {runs}")
        await asyncio.Event().wait()

    async def steady() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    component = supervisor.add("flaky", flaky)
    supervisor.add("steady", steady)
    task = asyncio.create_task(supervisor.run(install_signal_handlers=False))
    async with asyncio.timeout(5):
        while runs < 4:
            await asyncio.sleep(0.01)
    assert component.restarts == 3
    assert component.last_error == "RuntimeError: crash 3"
    ticks_before = ticks
    await asyncio.sleep(0.05)
    assert ticks > ticks_before  # the steady component never noticed
    supervisor.request_stop()
    await asyncio.wait_for(task, 5)


async def test_components_stop_in_reverse_order() -> None:
    supervisor = Supervisor(notifier=SystemdNotifier({}))
    order: list[str] = []

    def make(name: str) -> tuple[object, object]:
        async def run() -> None:
            await asyncio.Event().wait()

        async def stop() -> None:
            order.append(name)

        return run, stop

    for name in ("mqtt", "leases", "ocpp"):
        run, stop = make(name)
        supervisor.add(name, run, stop=stop)  # type: ignore[arg-type]
    task = asyncio.create_task(supervisor.run(install_signal_handlers=False))
    await asyncio.sleep(0.05)
    supervisor.request_stop()
    await asyncio.wait_for(task, 5)
    assert order == ["ocpp", "leases", "mqtt"]  # producers first, the MQTT flush last


def test_notifier_is_a_no_op_without_systemd() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog_interval_s is None
    assert (
        SystemdNotifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000"}).watchdog_interval_s
        == 5.0
    )


async def test_a_component_that_swallows_a_cancellation_still_stops() -> None:
    """As a library's `wait_for` can on Python 3.11 (CPython gh-86296)."""
    supervisor = Supervisor(notifier=SystemdNotifier({}))
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed == 0:
                    swallowed += 1  # lost, as if it arrived with the awaited result
                    continue
                raise

    supervisor.add("stubborn", stubborn)
    task = asyncio.create_task(supervisor.run(install_signal_handlers=False))
    await asyncio.sleep(0.05)
    supervisor.request_stop()
    done, _ = await asyncio.wait({task}, timeout=10)  # no cancellation from the test itself
    assert done, "the supervisor hung on a component that swallowed its cancellation"
    assert swallowed == 1
