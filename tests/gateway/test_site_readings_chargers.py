"""Which chargers the site controller plans: configured ones, then admitted unknown ones in id
order, only while connected; an admitted charger's default config is built once, not on every
tick, and what the planner sees of a charger is derived again only after a new record of it
(at thousands of chargers that work held the event loop)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.foundation.config import Config
from gateway.foundation.model import (
    ActiveTransaction,
    ChargerId,
    ChargerLimit,
    ChargerState,
    ChargerTelemetry,
    PhaseValues,
)
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


# -- what the planner sees of each charger, kept between ticks ------------------------------

_IDS = ("CP-A", "X-1", "X-2")
_limits = st.lists(
    st.builds(
        ChargerLimit,
        evse=st.integers(0, 2),
        power_w=st.one_of(st.none(), st.floats(0, 50_000)),
        current_a=st.one_of(st.none(), st.floats(0, 64)),
        source=st.sampled_from(["command", "controller", "rating", "ui"]),
    ),
    max_size=3,
).map(tuple)
_states = st.builds(
    ChargerState,
    charger_id=st.sampled_from(_IDS).map(ChargerId),
    connected=st.booleans(),
    ocpp_version=st.sampled_from([None, "1.6", "2.0.1", "2.1"]),
    transactions=st.lists(
        st.builds(ActiveTransaction, st.text(max_size=3), st.integers(1, 2), st.none(), st.none()),
        max_size=2,
    ).map(tuple),
    limits=_limits,
)
_samples = st.builds(
    ChargerTelemetry,
    charger_id=st.sampled_from(_IDS).map(ChargerId),
    evse=st.integers(0, 2),
    power_w=st.one_of(st.none(), st.floats(-22_000, 22_000)),
    soc_pct=st.one_of(st.none(), st.floats(0, 100)),
    phases=st.one_of(
        st.none(),
        st.dictionaries(
            st.sampled_from(["L1", "L2", "L3"]),
            st.builds(PhaseValues, current_a=st.one_of(st.none(), st.floats(0, 32))),
        ),
    ),
)
_ticks = st.lists(st.lists(st.one_of(_states, _samples), max_size=6), min_size=1, max_size=5)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ticks=_ticks)
def test_each_tick_sees_what_a_fresh_reading_of_the_twins_gives(
    make_config: Callable[..., Config],
    tmp_path: Path,
    ticks: list[list[ChargerState | ChargerTelemetry]],
) -> None:
    """Kept inputs are derived again after any new record of their charger: a tick never plans
    from a stale reading (compared with readings that derive everything from scratch)."""
    config = make_config(
        None,
        site={"id": "s", "v2g": True},
        ocpp={"allow_unknown_chargers": True, "chargers": [{"id": "CP-A", "bidirectional": True}]},
    )
    kept, recorder = readings(config, tmp_path)
    for records in ticks:
        for record in records:
            recorder.twins.update(record)
        fresh = SiteReadings(config, recorder)
        assert [c.id for c in kept.chargers()] == [c.id for c in fresh.chargers()]
        inputs = kept.charger_inputs()
        assert repr(inputs) == repr([fresh.charger(cfg) for cfg in fresh.chargers()])
        assert {i.charger_id: n for n, i in enumerate(inputs)} == kept.index
        for cfg in fresh.chargers():
            got = kept.charger(next(c for c in kept.chargers() if c.id == cfg.id))
            assert repr(got) == repr(fresh.charger(cfg))  # repr: equal floats print alike
