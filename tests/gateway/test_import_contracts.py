"""The import contracts hold the layers for every module, listed or not: shown by breaking them.

A copy of the three packages gets a new application module (named by no contract) and modules
that cross each line; `lint-imports` runs on the repository's own pyproject.toml. The new
module alone breaks nothing; each crossing breaks its contract, and the driver that imports
every application module of gateway/ is reported once per module.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "drivers", "simulators")
LINT = Path(sys.executable).with_name("lint-imports")


def _application_modules() -> list[str]:
    """Every module and package directly under gateway/ except the foundation."""
    names = []
    for path in sorted((ROOT / "gateway").iterdir()):
        if path.name in ("foundation", "__init__.py", "__pycache__"):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            names.append(f"gateway.{path.name}")
        elif path.suffix == ".py":
            names.append(f"gateway.{path.stem}")
    return names


def _copy(tmp: Path) -> Path:
    tree = tmp / "tree"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def _lint(tree: Path) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout + done.stderr


def _verdicts(report: str) -> dict[str, str]:
    """Contract name -> KEPT / BROKEN, from the report's summary (names may wrap)."""
    summary = report.split("Contracts:")[0]
    flat = re.sub(r"\s*\n\s*", " ", summary)
    return dict(
        (name.strip(), verdict)
        for name, verdict in re.findall(r"((?:[A-Z][^.]*?)) (KEPT|BROKEN)\b", flat)
    )


def _write(tree: Path, module: str, body: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(f'"""{module}: part of a test tree."""\n\n{body}')


def test_every_contract_catches_an_import_across_its_line(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    # A new application module: in no contract's list, importing a driver (allowed).
    _write(tree, "gateway.brand_new", "import drivers.registry\n")
    code, report = _lint(tree)
    assert code == 0, report
    assert "0 broken" in report

    application = [*_application_modules(), "gateway.brand_new"]
    _write(tree, "drivers.ocpp.reaches_up", "".join(f"import {m}\n" for m in application))
    _write(tree, "gateway.foundation.reaches_up", "import gateway.brand_new\n")
    _write(tree, "simulators.reaches_up", "import gateway.brand_new\n")
    _write(tree, "drivers.modbus.grants", "from gateway.foundation.leases import LeaseTable\n")
    code, report = _lint(tree)
    assert code != 0
    verdicts = _verdicts(report)
    broken = {name for name, verdict in verdicts.items() if verdict == "BROKEN"}
    assert broken == {
        "The foundation imports no driver, simulator or application module",
        "Drivers import only the foundation from gateway, and no simulator",
        "Drivers and simulators never reach the lease table: the router grants, the table lapses",
        "Simulators import only the foundation and the I/O-free driver modules",
    }, report
    for module in application:  # every application module is out of the drivers' reach
        assert re.search(rf"drivers\.ocpp\.reaches_up -> {re.escape(module)}\b", report), module
    assert "drivers.modbus.grants -> gateway.foundation.leases" in report
    assert "gateway.foundation.reaches_up -> gateway.brand_new" in report
    assert "simulators.reaches_up -> gateway.brand_new" in report


def test_the_application_list_is_not_empty() -> None:
    """The test above would prove little if it found no application module to import."""
    modules = _application_modules()
    assert {"gateway.app", "gateway.mqtt", "gateway.site", "gateway.recorder"} <= set(modules)


def test_no_import_hides_in_a_function_or_under_type_checking() -> None:
    """Every import of the project's modules sits at module level, where the contracts (and a
    reader) see it as the module's dependency; none waits in a function or TYPE_CHECKING."""
    hidden = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.If):
                    if isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                        continue
                    for inner in ast.walk(node):
                        if _imports_project(inner):
                            hidden.append(f"{path.relative_to(ROOT)}:{inner.lineno}")
    assert hidden == []


def _imports_project(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] in PACKAGES for a in node.names)
    if isinstance(node, ast.ImportFrom):
        return node.level > 0 or (node.module or "").split(".")[0] in PACKAGES
    return False
