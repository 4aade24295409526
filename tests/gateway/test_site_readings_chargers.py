"""Which chargers the site controller plans: configured ones, then admitted unknown ones in id
order, only while connected; an admitted charger's default config is built once, not on every
tick (at thousands of chargers that building held the event loop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.foundation.config import Config
from gateway.foundation.model import ChargerId, ChargerState
from gateway.outbox import Outbox
from gateway.recorder import OutboxRecorder
from gateway.site.readings import SiteReadings
from gateway.topics import Topics

CONFIGURED = ("CP-B", "CP-A")
ids = st.sampled_from([*CONFIGURED, "X-1", "X-2", "X-10", "Y", "a", "Z-9"])
events = st.lists(st.tuples(ids, st.booleans()), max_size=30)


def readings(config: Config, tmp_path: Path) -> tuple[SiteReadings, OutboxRecorder]:
    # The outbox is never opened: the readings read only the twins, updated directly here.
    recorder = OutboxRecorder(Outbox(tmp_path / "o.sqlite"), Topics("p", "s"))
    return SiteReadings(config, recorder), recorder


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(events, min_size=1, max_size=4))
def test_planned_chargers_follow_the_twins(
    make_config: Callable[..., Config], tmp_path: Path, steps: list[list[tuple[str, bool]]]
) -> None:
    config = make_config(
        None,
        ocpp={"allow_unknown_chargers": True, "chargers": [{"id": c} for c in CONFIGURED]},
    )
    site, recorder = readings(config, tmp_path)
    connected: dict[str, bool] = {}
    built: dict[str, object] = {}
    for step in steps:  # a tick after each batch of state changes
        for cid, up in step:
            recorder.twins.update(ChargerState(ChargerId(cid), up))
            connected[cid] = up
        planned = site.chargers()
        admitted = sorted(c for c in connected if c not in CONFIGURED)
        expected = [c for c in [*CONFIGURED, *admitted] if connected.get(c)]
        assert [c.id for c in planned] == expected
        for cfg in planned:
            assert built.setdefault(cfg.id, cfg) is cfg  # the same config object every tick
