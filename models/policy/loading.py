"""Reading policy files: YAML to `PolicyFile`, every failure one line naming file and field.

An administrator fixes a policy from the message alone, so each problem reads
`policies/x.yaml: versions[0].timescales.review.unit: expected one of ...; got 'fortnights'`.
"""

from __future__ import annotations

import os
import stat
import types
from collections.abc import Hashable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from models.fields import shown
from models.policy.parts import RULE_ERROR
from models.policy.schema import (
    ENGINE_DEFAULTS,
    NATIONAL,
    PolicyFile,
    PolicyVersion,
    prefix_problems,
)

MAX_POLICY_BYTES = 1_000_000  # a policy file is a few KB; anything near this is not one
# engine default: the deepest real policy nests 5 levels; 800 levels overflow Python's stack
MAX_POLICY_DEPTH = 32


class PolicyError(ValueError):
    """A policy that cannot be used. `problems` holds every line; the message is the first."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems) or ("policy error",)
        summary = self.problems[0]
        more = len(self.problems) - 1
        if more:
            summary += f" (and {more} more problem{'s' if more > 1 else ''})"
        super().__init__(summary)


class PolicyUnreadable(PolicyError):
    """A file that is not a policy at all (too big, not a regular file, not UTF-8 YAML, nested
    past MAX_POLICY_DEPTH): in a policy folder it is left out, and the other councils work."""


def load_policy_file(path: Path) -> PolicyFile:
    """One file, validated on its own (the national cross-checks are `national_problems`)."""
    data = _read_yaml(path)
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise PolicyError([f"{path}: expected a mapping of policy fields; got {kind}"])
    try:
        policy = PolicyFile.model_validate(data)
    except ValidationError as error:
        raise PolicyError(
            [f"{path}: {line}" for detail in error.errors() for line in _describe(detail)]
        ) from None
    if policy.authority != path.stem:
        raise PolicyError(
            [f"{path}: authority: expected {path.stem!r} (the file name); got {policy.authority!r}"]
        )
    return policy


def engine_problems(engine: PolicyFile, path: Path) -> list[str]:
    """The engine's defaults must set what authorities fall back on: a ladder and its channels."""
    problems = []
    for i, version in enumerate(engine.versions):
        for name in ("escalation", "channels", "urgent", "drift"):
            if getattr(version, name) is None:
                problems.append(f"{path}: versions[{i}].{name}: required in the engine defaults")
            elif name != "drift" and name not in version.reasons:
                problems.append(f"{path}: versions[{i}].reasons.{name}: expected the reason")
    return problems


def national_problems(
    policy: PolicyFile, national: PolicyFile, path: Path, *, engine: bool = False
) -> list[str]:
    """What stops `policy` inheriting from `national` (or, with `engine`, from the engine's
    defaults): another nation, or days it leaves bare."""
    problems: list[str] = []
    field = "engine_default_applies" if engine else "national_default_applies"
    for i, version in enumerate(policy.versions):
        if not getattr(version, field) or policy.is_national:
            continue
        if not engine and policy.nation != national.nation:
            problems.append(
                f"{path}: nation: national.yaml holds {national.nation.value}'s defaults; "
                f"{policy.nation.value} inherits nothing from it, so versions[{i}] may not "
                "list national_default_applies"
            )
            continue
        gap = _first_uncovered_day(version, national)
        if gap is not None:
            problems.append(
                f"{path}: versions[{i}].{field}: {national.authority}.yaml has no "
                f"version in force on {gap.isoformat()}; expected one across {version.span()}"
            )
    return problems


def coverage_problems(policy: PolicyFile, path: Path, today: date) -> list[str]:
    """A policy with no version in force today refuses every referral: say so before it does."""
    version = policy.in_force(today)
    if version is not None:
        return []
    spans = ", ".join(f"v{v.version} {v.span()}" for v in policy.versions)
    return [f"{path}: versions: expected one in force today ({today.isoformat()}); got {spans}"]


def sibling_prefix_problems(path: Path, policy: PolicyFile) -> list[str]:
    """`policy`'s case prefix against every other policy file in its folder."""
    others: dict[str, PolicyFile] = {str(path): policy}
    for sibling in sorted(path.parent.glob("*.yaml")):
        if sibling.resolve() == path.resolve():
            continue
        try:
            others[str(sibling)] = load_policy_file(sibling)
        except PolicyError:
            continue  # reported when that file is validated
    return [line for line in prefix_problems(others) if line.startswith(f"{path}: ")]


def validate_policy_file(path: Path, *, today: date | None = None) -> PolicyFile:
    """One file, plus its fit with the `national.yaml` and `engine-defaults.yaml` beside it and
    the other files' case prefixes (what `cin policy validate` runs); with `today`, a version
    must be in force on that day. A broken base file is reported when it is itself validated.
    """
    policy = load_policy_file(path)
    if policy.authority == ENGINE_DEFAULTS:
        problems = engine_problems(policy, path)
        if problems:
            raise PolicyError(problems)
        return policy
    problems = sibling_prefix_problems(path, policy)
    if today is not None:
        problems += coverage_problems(policy, path, today)
    if problems:
        raise PolicyError(problems)
    if policy.is_national:
        return policy
    problems = []
    for base, engine in ((NATIONAL, False), (ENGINE_DEFAULTS, True)):
        field = "engine_default_applies" if engine else "national_default_applies"
        if not any(getattr(v, field) for v in policy.versions):
            continue
        base_path = path.with_name(f"{base}.yaml")
        if not base_path.exists():
            problems.append(f"{path}: {field}: expected {base_path} beside it; not found")
            continue
        try:
            base_file = load_policy_file(base_path)
        except PolicyError:
            continue
        problems += national_problems(policy, base_file, path, engine=engine)
    if problems:
        raise PolicyError(problems)
    return policy


def _first_uncovered_day(version: PolicyVersion, national: PolicyFile) -> date | None:
    day = version.starts
    while version.effective_to is None or day <= version.effective_to:
        covering = national.in_force(day)
        if covering is None:
            return day
        if covering.effective_to is None:
            return None
        day = covering.effective_to + timedelta(days=1)
    return None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a second `review:` is a mistake, so refuse it.

    Aliases (`*name`) are refused outright: a policy never needs one, and a few KB of nested
    aliases expand to gigabytes (the "billion laughs").
    """

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.depth >= MAX_POLICY_DEPTH:  # before Python's recursion limit is reached
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None,
                None,
                f"expected at most {MAX_POLICY_DEPTH} levels of nesting",
                event.start_mark,
            )
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a policy file", event.start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):
                continue  # the base class reports unhashable keys itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _read_bounded(path: Path) -> bytes:
    """The file's bytes, refused past MAX_POLICY_BYTES while reading (a size on disk can lie:
    `/dev/zero` says 0 and never ends), and only from a regular file (a FIFO would block)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise PolicyUnreadable(
                [f"{path}: expected a regular policy file (not a device or a FIFO)"]
            )
        data = handle.read(MAX_POLICY_BYTES + 1)
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyUnreadable([f"{path}: expected a policy file under {MAX_POLICY_BYTES} bytes"])
    return data


def _read_yaml(path: Path) -> object:
    try:
        text = _read_bounded(path).decode("utf-8")
    except OSError as error:
        raise PolicyUnreadable([f"{path}: cannot read: {error.strerror or error}"]) from None
    except UnicodeDecodeError as error:
        raise PolicyUnreadable(
            [f"{path}: expected UTF-8 text; byte {error.start} is not ({error.reason})"]
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader: plain data, no objects
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise PolicyUnreadable([f"{path}: {where}invalid YAML: {_one_line(problem)}"]) from None


def _describe(detail: ErrorDetails) -> list[str]:
    """pydantic's error as `field.path: expected ...; got ...` lines."""
    loc = tuple(part for part in detail["loc"] if part != "[key]")
    where = _path(loc)
    kind, value = detail["type"], detail.get("input")
    if kind == RULE_ERROR:
        # the rule's lines carry paths relative to the model that raised it
        return [_join(where, line) for line in str(detail["ctx"]["problems"]).splitlines()]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        return [f"{where}: unknown key; expected one of {', '.join(allowed)}"]
    if kind == "missing":
        return [f"{where}: required but missing"]
    if kind == "enum":
        expected = ", ".join(_quoted_values(str(detail.get("ctx", {}).get("expected", ""))))
        return [f"{where}: expected one of {expected}; got {shown(value)}"]
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "authority":
        return [
            f"{where}: expected a lower-case slug like 'redcar-and-cleveland'; got {shown(value)}"
        ]
    if kind == "string_pattern_mismatch" and loc and loc[-1] == "case_prefix":
        return [f"{where}: expected 2 to 8 capitals and digits like 'WAR'; got {shown(value)}"]
    if kind == "string_pattern_mismatch":
        return [f'{where}: expected a month-day in quotes like "12-24"; got {shown(value)}']
    if kind == "string_too_short":
        return [f"{where}: expected non-empty text; got {shown(value)}"]
    if kind == "too_short" and isinstance(value, list | tuple) and value:
        return []  # pydantic counts only the entries that validated; those failures are listed
    if kind == "too_short":
        return [f"{where}: expected at least one entry; got none"]
    if kind == "greater_than_equal":
        return [f"{where}: expected {detail.get('ctx', {}).get('ge')} or more; got {shown(value)}"]
    message = _one_line(detail["msg"].replace("Input should be ", "expected "))
    return [f"{where or 'file'}: {message}; got {shown(value)}"]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _join(where: str, line: str) -> str:
    if not where:
        return line
    return f"{where}{line}" if line.startswith("[") else f"{where}.{line}"


def _quoted_values(expected: str) -> list[str]:
    # pydantic phrases it "'working-days', 'days', 'weeks' or 'months'"
    return [part.strip("' ") for part in expected.replace(" or ", ", ").split(",")]


def _fields_at(loc: Sequence[int | str]) -> list[str]:
    """The keys allowed where an unknown one was found, by walking the model along `loc`."""
    current: Any = PolicyFile
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {(f.alias or name): f.annotation for name, f in current.model_fields.items()}
            current = fields.get(str(part))
        elif get_origin(current) is tuple:
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X; anything else unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return options[0] if len(options) == 1 else annotation
    return annotation
