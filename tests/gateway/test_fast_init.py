"""The model's records built by `fast_init` are the records dataclasses would build: the same
fields from the same arguments (positional or by name, defaults and factories), fresh factory
values each time, still frozen."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import drivers.ocpp.core.energy
import drivers.ocpp.core.transactions
import gateway.foundation.model
import gateway.outbox_db
import gateway.payloads
from gateway.foundation.model.fast_init import REFERENCE_INITS, fast_init

# Decorated on import: the records of the model, and the hot path's own.
DECORATED = (gateway.foundation.model, gateway.payloads, gateway.outbox_db, drivers.ocpp.core)
CLASSES = sorted(REFERENCE_INITS, key=lambda c: c.__name__)


def test_the_hot_records_are_built_quickly() -> None:
    names = {c.__name__ for c in CLASSES}
    assert {
        "ChargerTelemetry",
        "PhaseValues",
        "TransactionEvent",
        "ChargerState",
        "MqttMessage",
        "OutboxRow",
        "EnergyReference",
        "Reading",
    } <= names


def fields_of(obj: Any) -> list[Any]:
    return [getattr(obj, f.name) for f in dataclasses.fields(obj)]


@given(data=st.data())
@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_same_fields_as_the_dataclass_init(cls: type, data: st.DataObject) -> None:
    fields = dataclasses.fields(cls)
    required = [
        f
        for f in fields
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    optional = [f for f in fields if f not in required]
    given_optional = data.draw(
        st.sets(st.sampled_from([f.name for f in optional]) if optional else st.nothing())
    )
    values = {f.name: object() for f in fields}  # distinct markers: the init checks no types
    chosen = [f for f in fields if f in required or f.name in given_optional]
    positional = data.draw(st.integers(0, len(required)))
    args = [values[f.name] for f in required[:positional]]
    kwargs = {f.name: values[f.name] for f in chosen if f not in required[:positional]}
    made = cls(*args, **kwargs)
    reference = cls.__new__(cls)
    REFERENCE_INITS[cls](reference, *args, **kwargs)
    assert fields_of(made) == fields_of(reference)
    for f in optional:
        if f.name not in given_optional and f.default_factory is not dataclasses.MISSING:
            assert getattr(made, f.name) is not getattr(cls(*args, **kwargs), f.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, None)


def test_what_it_cannot_stand_in_for_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class PostInit:
        a: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, slots=True)
    class KeywordOnly:
        a: int = dataclasses.field(kw_only=True)

    @dataclasses.dataclass(frozen=True, slots=True)
    class NotInInit:
        a: int = dataclasses.field(init=False, default=1)

    for cls in (NoSlots, PostInit, KeywordOnly, NotInInit):
        with pytest.raises(TypeError):
            fast_init(cls)
