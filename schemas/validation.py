"""Validate instances and report every violation with its JSON pointer.

``jsonschema`` reports a failed ``anyOf``/``oneOf`` as one vague error with
the branch errors hidden in ``context``. Users want the leaf: "``/usage/
total_tokens``: required property is missing". So each such error is replaced
by the errors of its most plausible branch (``jsonschema.exceptions.
best_match``), recursively, and ``required``/``additionalProperties`` errors
are reported at the pointer of the property concerned.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from .findings import Finding
from .loader import DEFAULT_PROFILE, _load, registry

if TYPE_CHECKING:
    from .levels import Levels

#: The name this type had before findings carried a level; kept for callers that use it.
Violation = Finding


@functools.cache
def validator_for(name: str, profile: str = DEFAULT_PROFILE) -> Draft202012Validator:
    """The compiled validator for schema ``name`` of ``profile``, built once per process."""
    return Draft202012Validator(_load(name, profile), registry=registry())


def validate(instance: Any, name: str, profile: str = DEFAULT_PROFILE, levels: Levels | None = None) -> list[Finding]:
    """Every finding of schema ``name`` on ``instance``, sorted by path; empty when valid.

    Each finding (rule ``schema``) carries its level from ``levels`` (default:
    ``schemas/levels.json``, where a schema finding is a violation unless a
    path override says otherwise).
    """
    validator = validator_for(name, profile)
    if validator.is_valid(instance):
        return []
    from .levels import default_levels

    return (levels or default_levels()).apply_all(_one_per_path(violations_from(validator.iter_errors(instance))))


def _one_per_path(found: Iterable[Finding]) -> list[Finding]:
    """One finding per pointer, sorted: where a field breaks both its own schema and a condition on its
    parent (a completed reply's non-null fields), the plainer one (shortest schema path) says it."""
    best: dict[str, Finding] = {}
    for finding in found:
        kept = best.get(finding.path)
        if kept is None or (len(finding.schema_path), finding) < (len(kept.schema_path), kept):
            best[finding.path] = finding
    return sorted(best.values())


def is_valid(instance: Any, name: str, profile: str = DEFAULT_PROFILE) -> bool:
    """Whether ``instance`` satisfies schema ``name`` of ``profile``."""
    return validator_for(name, profile).is_valid(instance)


def violations_from(errors: Iterable[ValidationError]) -> Iterator[Finding]:
    """Flatten ``jsonschema`` errors into leaf violations with precise pointers."""
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            yield from violations_from(_errors_of_best_branch(error))
        else:
            yield from _leaf_violations(error)


def _errors_of_best_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the branch the instance most plausibly meant.

    A branch whose ``type``/``const``/``enum`` already rejects the instance
    itself is the wrong kind of thing (a string branch for a list); among the
    others, the branch whose errors reach deepest into the instance got
    furthest, and explains the failure best.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    depth = len(error.absolute_path)

    def wrong_kind(errors: list[ValidationError]) -> bool:
        return any(_is_kind_of(e, depth) for e in errors)

    plausible = {k: v for k, v in branches.items() if not wrong_kind(v)}
    if not plausible:
        untyped = [e for errs in branches.values() for e in errs if _misses_type(e, depth)]
        if len(untyped) >= len(branches):  # every form wants a "type" and the object has none: say that
            return untyped[:1]
        return [_none_of(error, branches)]
    return max(plausible.values(), key=lambda errs: (max(len(e.absolute_path) for e in errs), -len(errs)))


_KIND_KEYWORDS = ("type", "const", "enum", "not")


def _is_kind_of(error: ValidationError, depth: int) -> bool:
    """An error saying the instance is another kind of thing than the branch describes.

    That is a wrong JSON type or value of the instance itself, a wrong value of
    its ``type`` discriminator, or a missing ``type`` the branch requires.
    """
    path = error.absolute_path
    if error.validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        return len(path) == depth and "type" in error.validator_value and "type" not in instance
    if error.validator not in _KIND_KEYWORDS:
        return False
    return len(path) == depth or (len(path) == depth + 1 and path[-1] == "type")


def _misses_type(error: ValidationError, depth: int) -> bool:
    instance = error.instance if isinstance(error.instance, dict) else None
    return (
        error.validator == "required"
        and len(error.absolute_path) == depth
        and instance is not None
        and "type" in error.validator_value
        and "type" not in instance
    )


def _none_of(error: ValidationError, branches: dict[Any, list[ValidationError]]) -> ValidationError:
    """One error saying the instance matches no branch, listing what each wanted."""
    wanted = "; ".join(dict.fromkeys(errs[0].message for errs in branches.values()))
    return ValidationError(
        f"matches none of the allowed forms ({wanted})",
        validator=error.validator,
        path=error.absolute_path,
        schema_path=error.absolute_schema_path,
        instance=error.instance,
    )


def _leaf_violations(error: ValidationError) -> Iterator[Finding]:
    path = to_pointer(error.absolute_path)
    schema_path = to_pointer(error.absolute_schema_path)
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        for missing in (name for name in error.validator_value if name not in present):
            yield Finding(f"{path}/{_escape(missing)}", "required property is missing", "required", schema_path)
    elif error.validator in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        for extra in _unexpected_properties(error):
            yield Finding(f"{path}/{_escape(extra)}", "unexpected property", error.validator, schema_path)
    else:
        yield Finding(path, _short_message(error), str(error.validator), schema_path)


def _unexpected_properties(error: ValidationError) -> list[str]:
    schema = error.schema
    known = set(schema.get("properties", {}))
    patterns = schema.get("patternProperties", {})
    if error.validator == "unevaluatedProperties":
        # jsonschema names them in the message: "... ('a', 'b' were unexpected)"
        return [name for name in error.instance if f"'{name}'" in error.message] or list(error.instance)
    import re

    return [name for name in error.instance if name not in known and not any(re.search(p, name) for p in patterns)]


def _short_message(error: ValidationError) -> str:
    """The jsonschema message without the (possibly huge) instance repeated in it."""
    value = json.dumps(error.instance, ensure_ascii=False)
    if len(value) <= 80:
        return error.message
    shown = value[:60] + "…"
    return error.message.replace(repr(error.instance), shown)


def _escape(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def to_pointer(parts: Iterable[Any]) -> str:
    """A JSON pointer (RFC 6901) for a sequence of keys and indices."""
    return "".join(f"/{_escape(part)}" for part in parts)


def pointer_to_param(pointer: str) -> str | None:
    """``/input/0/content`` -> ``input[0].content``, the form OpenAI puts in ``error.param``."""
    if not pointer:
        return None
    out = ""
    for token in pointer.lstrip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        out += f"[{token}]" if token.isdigit() else (f".{token}" if out else token)
    return out
