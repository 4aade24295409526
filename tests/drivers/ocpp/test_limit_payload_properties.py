"""Property tests at the `limit` / `start` / `get_schedule` payload boundary.

Whatever a control centre sends, the command is either rejected with a reason a person can act
on, or it becomes a charging profile the charger's OCPP schema accepts, for every version. Bad
items (NaN, huge lists, unordered offsets, mixed units) never reach a charger.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.ocpp.core.profile_plan import (
    ProfilePlan,
    charging_profile,
    plan_profile,
    set_profile_payload,
)
from drivers.ocpp.core.profiles import ChargerRating
from drivers.ocpp.validation import outgoing_violation
from gateway.foundation.commands.router import CommandRouter
from gateway.foundation.commands.schemas import LimitCommand, StartCommand
from gateway.foundation.model import CommandResult, CommandStatus, DeviceKind

EXAMPLES = int(os.environ.get("PILEBRIDGE_HYPOTHESIS_EXAMPLES", "80"))
"""CI runs 80 per property; PILEBRIDGE_HYPOTHESIS_EXAMPLES=5000 for a long fuzz run."""
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
NOW = 1_772_355_600.0  # 2026-03-01T09:00:00Z
RATINGS = [
    ChargerRating(22_000, 3, 230.0, None, False),
    ChargerRating(7_400, 1, 230.0, "A", True),
    ChargerRating(11_000, 3, 400.0, "W", True),
]
VERSIONS = ["1.6", "2.0.1", "2.1"]


async def _never(*_: Any) -> CommandResult:
    raise AssertionError("not dispatched")


def _router() -> CommandRouter:
    router = CommandRouter()
    for name in ("limit", "start", "get_schedule"):
        router.register(DeviceKind.CHARGER, name, _never)
    router.add_device(DeviceKind.CHARGER, "CP-1")
    return router


ROUTER = _router()

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from([0, -1, 6, 16, 32, 7_000, 22_000, 1e308]),
)
times = st.one_of(
    st.sampled_from(
        ["2026-03-01T22:00:00Z", "2026-03-01T08:00:00+01:00", "2020-01-01T00:00:00Z", "not-a-time"]
    ),
    st.datetimes().map(lambda d: d.isoformat()),
    st.text(max_size=30),
)
period = st.fixed_dictionaries(
    {"offset_s": st.one_of(st.integers(min_value=-10, max_value=200_000), numbers)},
    optional={
        "power_w": st.one_of(numbers, st.none()),
        "current_a": st.one_of(numbers, st.none()),
        "phases": st.one_of(st.integers(min_value=0, max_value=4), st.none()),
        "operation_mode": st.sampled_from(["CentralSetpoint", "Idle", "ChargingOnly", "Bogus"]),
        "setpoint": numbers,
        "discharge_limit": numbers,
        "junk": st.text(max_size=5),
    },
)
limit_payload = st.fixed_dictionaries(
    {},
    optional={
        "power_w": st.one_of(numbers, st.none(), st.text(max_size=5)),
        "current_a": st.one_of(numbers, st.none()),
        "schedule": st.one_of(
            st.lists(period, max_size=6),
            st.lists(period, min_size=1025, max_size=1030),
            st.text(max_size=5),
        ),
        "evse": st.one_of(st.integers(min_value=-2, max_value=1002), st.none()),
        "ttl_s": st.one_of(numbers, st.none()),
        "purpose": st.sampled_from(["charger_max", "tx_default", "tx", "TxProfile", None]),
        "kind": st.sampled_from(["absolute", "relative", "recurring", "Dynamic", None]),
        "recurrency": st.sampled_from(["daily", "weekly", "Daily", None]),
        "start": times,
        "valid_from": times,
        "valid_to": times,
        "stack_level": st.one_of(st.integers(min_value=-2, max_value=2000), st.none()),
    },
)


def _parse(name: str, body: Any) -> tuple[Any, CommandResult | None]:
    raw = json.dumps(body, allow_nan=True).encode()
    _, args, rejection = ROUTER.parse("charger", "CP-1", name, raw)
    return args, rejection


def _check_plans(args: LimitCommand, *, remote_start: bool = False) -> None:
    for version in VERSIONS:
        for rating in RATINGS:
            result = plan_profile(
                args,
                version=version,
                rating=rating,
                now_s=NOW,
                stack_level=1,
                transaction_id="42",
                remote_start=remote_start,
            )
            if isinstance(result, str):
                assert result  # a reason, not an empty string
                continue
            assert isinstance(result, ProfilePlan)
            payload = set_profile_payload(result, version)
            assert outgoing_violation(version, "SetChargingProfile", payload) is None, payload
            for p in result.periods:
                assert math.isfinite(p.sent) and abs(p.power_w) <= rating.max_power_w + 1e-6
            json.dumps(result.detail(), allow_nan=False)  # the result is valid JSON


@SETTINGS
@given(limit_payload)
def test_any_limit_payload_is_rejected_clearly_or_sent_valid(body: dict[str, Any]) -> None:
    args, rejection = _parse("limit", body)
    if rejection is not None:
        assert rejection.status is CommandStatus.REJECTED and rejection.reason
        return
    assert isinstance(args, LimitCommand)
    if not args.clears:
        _check_plans(args)


@SETTINGS
@given(limit_payload)
def test_any_start_limit_is_rejected_clearly_or_sent_valid(limit: dict[str, Any]) -> None:
    limit.pop("evse", None)
    body = {"id_tag": "TAG", "evse": 1, "limit": limit}
    args, rejection = _parse("start", body)
    if rejection is not None:
        assert rejection.reason
        return
    assert isinstance(args, StartCommand) and args.limit is not None
    spec = args.limit
    command = LimitCommand(
        power_w=spec.power_w,
        current_a=spec.current_a,
        schedule=spec.schedule,
        evse=1,
        purpose="tx",
        kind=spec.kind or "relative",
        start=spec.start,
        stack_level=spec.stack_level,
    )
    for version in VERSIONS:
        plan = plan_profile(
            command, version=version, rating=RATINGS[0], now_s=NOW, stack_level=1, remote_start=True
        )
        if isinstance(plan, ProfilePlan):
            profile = charging_profile(plan, version)
            action = "RemoteStartTransaction" if version == "1.6" else "RequestStartTransaction"
            payload: dict[str, Any] = (
                {"idTag": "TAG", "chargingProfile": profile}
                if version == "1.6"
                else {
                    "idToken": {"idToken": "TAG", "type": "Central"},
                    "remoteStartId": 1,
                    "chargingProfile": profile,
                }
            )
            assert outgoing_violation(version, action, payload) is None


@SETTINGS
@given(
    st.lists(st.integers(min_value=0, max_value=100_000), min_size=2, max_size=40, unique=True),
    st.randoms(use_true_random=False),
)
def test_unordered_offsets_are_rejected(offsets: list[int], rnd: Any) -> None:
    rnd.shuffle(offsets)
    body = {"schedule": [{"offset_s": o, "current_a": 6} for o in offsets]}
    _, rejection = _parse("limit", body)
    in_order = offsets[0] == 0 and offsets == sorted(offsets)
    assert (rejection is None) == in_order
    if rejection is not None:
        assert "offset" in str(rejection.reason)


@SETTINGS
@given(st.lists(st.integers(min_value=1, max_value=3600), min_size=1, max_size=50))
def test_ordered_schedules_keep_their_order_and_values(steps: list[int]) -> None:
    offsets = [0]
    for step in steps:
        offsets.append(offsets[-1] + step)
    body = {
        "evse": 1,
        "schedule": [{"offset_s": o, "current_a": 6 + i % 20} for i, o in enumerate(offsets)],
    }
    args, rejection = _parse("limit", body)
    assert rejection is None and isinstance(args, LimitCommand)
    plan = plan_profile(args, version="2.0.1", rating=RATINGS[0], now_s=NOW, stack_level=1)
    assert isinstance(plan, ProfilePlan)
    assert [p.offset_s for p in plan.periods] == offsets
    assert [p.sent for p in plan.periods] == [6 + i % 20 for i in range(len(offsets))]


def test_huge_and_nan_payloads_are_rejected_with_reasons() -> None:
    huge = {"schedule": [{"offset_s": i, "power_w": 1000} for i in range(1025)]}
    _, rejection = _parse("limit", huge)
    assert rejection is not None and "schedule" in str(rejection.reason)
    _, rejection = _parse("limit", {"power_w": float("nan")})
    assert rejection is not None and "power_w" in str(rejection.reason)
    _, rejection = _parse("limit", {"schedule": [{"offset_s": 0, "power_w": 1e400}]})
    assert rejection is not None
    _, rejection = _parse("get_schedule", {"evse": 1, "duration_s": float("nan")})
    assert rejection is not None and "duration_s" in str(rejection.reason)
