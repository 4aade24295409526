"""Signals: where one capability value (`power_w`, `soc_pct`, ...) lives in a device's registers.

Both profiles end here: SunSpec discovery and register-map files each produce a table of
signals, so decoding, block reads and telemetry are one code path. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from drivers.modbus.registers import (
    REGISTER_COUNT,
    RegType,
    WordOrder,
    decode_value,
    is_not_implemented,
)

__all__ = ["RegisterImage", "Signal", "decode_signal", "decode_signals", "scaled_value"]

RegisterImage = Mapping[tuple[int, int], int]
"""Register values by (unit id, address), as read in the last poll."""

_SF_RANGE = range(-10, 11)
"""Scale factors outside this are garbage or the not-implemented marker, not a real exponent."""
_POW10 = tuple(float(10**k) for k in range(11))


@dataclass(frozen=True, slots=True)
class Signal:
    """One value: `raw * scale * 10**sf * sign`, in the unit its name carries."""

    name: str
    address: int
    reg_type: RegType
    unit_id: int
    size: int = 0
    """Registers; 0 takes the type's own size (strings must give one)."""
    word_order: WordOrder = "big"
    scale: float = 1.0
    sf_address: int | None = None
    """Address of a SunSpec `sunssf` register holding the power-of-ten exponent."""
    sign: float = 1.0
    """-1 converts a device's generator convention to the gateway's load convention."""
    sentinels: bool = True
    """Treat SunSpec not-implemented values as "not reported"."""
    invalid: tuple[int, ...] = ()
    """Further raw values that mean "not reported" (vendor maps)."""
    unit: str = ""

    @property
    def count(self) -> int:
        return self.size or REGISTER_COUNT[self.reg_type]

    def addresses(self) -> Iterable[tuple[int, int]]:
        """Every (unit, address) this signal needs, its scale-factor register included."""
        for offset in range(self.count):
            yield (self.unit_id, self.address + offset)
        if self.sf_address is not None:
            yield (self.unit_id, self.sf_address)


def decode_signal(image: RegisterImage, signal: Signal) -> float | str | None:
    """The value in engineering units, or None when absent, not implemented or implausible."""
    regs = [image.get((signal.unit_id, signal.address + i)) for i in range(signal.count)]
    if any(r is None for r in regs):
        return None
    words = [r for r in regs if r is not None]
    raw = decode_value(words, signal.reg_type, signal.word_order)
    sf_word = None
    if signal.sf_address is not None and not isinstance(raw, str):
        sf_word = image.get((signal.unit_id, signal.sf_address))
        if sf_word is None:
            return None
    return scaled_value(signal, raw, sf_word)


def scaled_value(signal: Signal, raw: int | float | str, sf_word: int | None) -> float | str | None:
    """`raw` (decoded registers) in engineering units, or None when it is no reading.

    `sf_word` is the scale-factor register as read, None when the signal has none.
    """
    if isinstance(raw, str):
        return raw or None
    if signal.sentinels and is_not_implemented(raw, signal.reg_type):
        return None
    if isinstance(raw, int) and raw in signal.invalid:
        return None
    if isinstance(raw, float) and not math.isfinite(raw):
        return None
    sf = 0
    if sf_word is not None:
        sf = sf_word & 0xFFFF  # sunssf: int16
        if sf >= 0x8000:
            sf -= 0x10000
        if sf not in _SF_RANGE:
            return None
    # Divide for negative exponents: 499 x 10^-1 must read 49.9, not 49.900000000000006.
    value = float(raw) * _POW10[sf] if sf >= 0 else float(raw) / _POW10[-sf]
    value = round(value * signal.scale * signal.sign, 9)
    if not math.isfinite(value):  # a huge raw value times a map's scale: not a reading
        return None
    return value + 0.0  # normalise -0.0


def decode_signals(image: RegisterImage, signals: Iterable[Signal]) -> dict[str, float | str]:
    """Decode a table; the first signal of a name that has a value wins (fallback order)."""
    out: dict[str, float | str] = {}
    for signal in signals:
        if signal.name in out:
            continue
        value = decode_signal(image, signal)
        if value is not None:
            out[signal.name] = value
    return out
