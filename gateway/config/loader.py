"""Load the YAML file into `Config`, reporting every problem with its key path.

Secrets stay out of the file with two YAML tags: `!env NAME` (an environment variable) and
`!file /path` (a file's content, trailing newline stripped), as on systemd credentials.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gateway.foundation.config import Config
from gateway.foundation.errors import ConfigError, ConfigProblem

__all__ = ["ConfigCheck", "ConfigError", "ConfigProblem", "load_config", "parse_config"]

ConfigCheck = Callable[[Config], Iterable[ConfigProblem]]
"""A check only another layer can make (a driver's register maps): see drivers.registry."""


@dataclass(frozen=True, slots=True)
class _Secret:
    kind: str  # "env" or "file"
    ref: str


class _Loader(yaml.SafeLoader):
    """SafeLoader plus `!env` and `!file`; no arbitrary objects."""


def _secret_constructor(kind: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> _Secret:
        return _Secret(kind, str(loader.construct_scalar(node)))  # type: ignore[arg-type]

    return construct


_Loader.add_constructor("!env", _secret_constructor("env"))
_Loader.add_constructor("!file", _secret_constructor("file"))


def load_config(path: str | os.PathLike[str], checks: Sequence[ConfigCheck] = ()) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem.

    `checks` add what only another layer knows (the application passes the drivers' checks).
    """
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [ConfigProblem("", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, [ConfigProblem("", f"cannot read file: {exc}")]) from None
    return parse_config(text, source, checks)


def parse_config(text: str, source: str = "<config>", checks: Sequence[ConfigCheck] = ()) -> Config:
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            source, [ConfigProblem("", f"not valid YAML: {where}{problem}")]
        ) from None
    if raw is None:
        raise ConfigError(source, [ConfigProblem("", "file is empty")])
    if not isinstance(raw, dict):
        raise ConfigError(source, [ConfigProblem("", "top level must be a mapping of keys")])

    problems: list[ConfigProblem] = []
    resolved = _resolve_secrets(raw, "", problems)
    try:
        config = Config.model_validate(resolved)
    except ValidationError as exc:
        problems.extend(_explain(err, resolved) for err in exc.errors())
        raise ConfigError(source, problems) from None
    problems.extend(_check_files(config))
    for check in checks:
        problems.extend(check(config))
    if problems:
        raise ConfigError(source, problems)
    return config


def _resolve_secrets(value: Any, path: str, problems: list[ConfigProblem]) -> Any:
    if isinstance(value, _Secret):
        if value.kind == "env":
            if value.ref not in os.environ:
                problems.append(ConfigProblem(path, f"environment variable {value.ref} is not set"))
                return None
            return os.environ[value.ref]
        try:
            return Path(value.ref).read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            problems.append(
                ConfigProblem(path, f"cannot read secret file {value.ref}: {exc.strerror}")
            )
            return None
        except UnicodeDecodeError:
            problems.append(ConfigProblem(path, f"secret file {value.ref} is not UTF-8 text"))
            return None
    if isinstance(value, dict):
        return {k: _resolve_secrets(v, _join(path, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_secrets(v, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out


def _explain(err: Any, raw: Any) -> ConfigProblem:
    loc = tuple(err["loc"])
    path = _format_loc(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else f" (known keys: {', '.join(known)})"
        return ConfigProblem(path, f"unknown key{suffix}")
    if kind == "missing":
        return ConfigProblem(path, "required key is missing")
    message = err["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    if (
        "input" in err
        and kind not in ("missing",)
        and not isinstance(err["input"], dict | list)
        and not _is_secret(loc)
    ):
        message = f"{message} (got {_short(err['input'])})"
    return ConfigProblem(path, message)


_SECRET_WORDS = ("password", "secret", "token", "passphrase", "key")


def _is_secret(loc: tuple[int | str, ...]) -> bool:
    """A value at this key is never echoed: it may be a password typed in the wrong type."""
    return any(isinstance(p, str) and any(w in p.lower() for w in _SECRET_WORDS) for p in loc)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys allowed at `loc`, found by walking the schema (for "did you mean" hints)."""
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if _is_model(model) else None
        if field is None:
            return []
        model = _model_in(field.annotation)
    return list(model.model_fields) if _is_model(model) else []


def _is_model(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, BaseModel)


def _model_in(annotation: Any) -> Any:
    if _is_model(annotation):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _check_files(config: Config) -> Iterator[ConfigProblem]:
    """Files named in the config must exist: a technician learns it now, not at 3 a.m."""
    candidates: list[tuple[str, Path | None]] = []
    if config.mqtt.tls:
        tls = config.mqtt.tls
        candidates += [
            ("mqtt.tls.ca", tls.ca),
            ("mqtt.tls.cert", tls.cert),
            ("mqtt.tls.key", tls.key),
        ]
    if config.ocpp.tls:
        tls2 = config.ocpp.tls
        candidates += [
            ("ocpp.tls.cert", tls2.cert),
            ("ocpp.tls.key", tls2.key),
            ("ocpp.tls.ca", tls2.ca),
        ]
    for key, file in candidates:
        if file is not None and not file.is_file():
            yield ConfigProblem(key, f"file {file} does not exist")
