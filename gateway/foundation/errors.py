"""Errors the layers share. A config problem carries the key path a technician must fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["ConfigError", "ConfigProblem", "StateFileDamaged"]


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(Exception):
    """The file cannot be used; `problems` lists every reason, each with its key path."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


class StateFileDamaged(Exception):
    """A file under state_dir cannot be read (a power cut on an SD card): the daemon says which
    and what to do in one line, and exits without a systemd restart loop."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)
