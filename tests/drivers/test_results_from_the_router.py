"""Drivers raise from the error tree; every result that is not `accepted` is built by the router.

A driver that returned `CommandResult.rejected(...)` itself, or kept an exception of its own
carrying a ready-made result (as a `Refusal` once did), would decide a status and its wording
in a second place. This reads every driver module and finds none.
"""

from __future__ import annotations

import ast
from pathlib import Path

DRIVERS = Path(__file__).resolve().parents[2] / "drivers"
NOT_ACCEPTED = {"rejected", "failed", "timeout"}


def _findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = f"{path.parent.name}/{path.name}"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "CommandResult":
                found.append(f"{where}:{node.lineno} CommandResult(...)")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "CommandResult"
                and func.attr in NOT_ACCEPTED
            ):
                found.append(f"{where}:{node.lineno} CommandResult.{func.attr}(...)")
        if isinstance(node, ast.ClassDef) and path.name != "errors.py":
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            if bases & {"CommandError", "CommandRejected", "DeviceError"}:
                found.append(f"{where}:{node.lineno} class {node.name} outside errors.py")
    return found


def test_no_driver_builds_a_result_that_is_not_accepted() -> None:
    modules = sorted(DRIVERS.rglob("*.py"))
    assert len(modules) > 50  # the whole tree was read
    findings = [f for path in modules for f in _findings(path)]
    assert findings == []


def test_the_check_sees_what_it_forbids(tmp_path: Path) -> None:
    path = tmp_path / "sample.py"
    path.write_text(
        "class Refusal(CommandError):\n    pass\n\n"
        "def f():\n    return CommandResult.rejected('no')\n"
    )
    found = sorted(line.split(" ", 1)[1] for line in _findings(path))
    assert found == ["CommandResult.rejected(...)", "class Refusal outside errors.py"]
