"""Profiles as behaviour: error envelopes, failure statuses, field effects.

``profiles.json`` says, per profile, how the target answers each kind of
failure and which request fields take effect; ``deviations.json`` lists how
the documented gateway reply departs from the official Response object. Both
are data next to the schemas; this module loads them (validated, so a typo
fails loudly at start-up naming the file and field) and renders error bodies,
so that the mock and the contract suite read one definition.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from .endpoints import NoRoute, is_served, no_route_answer
from .loader import PROFILES, SCHEMA_ROOT, read_json
from .validation import to_pointer


@dataclass(frozen=True)
class Failure:
    """How one kind of failure is answered: HTTP status and the error fields."""

    name: str
    status: int
    type: str
    code: str | None
    message: str
    param: str | None = None


@dataclass(frozen=True)
class Behaviour:
    """What one profile does, as read from ``profiles.json``."""

    profile: str
    error_type: str
    error_has_param: bool
    request_id_in_message: bool
    request_id_header: str
    failures: dict[str, Failure] = field(repr=False)
    fields: dict[str, str] = field(repr=False)
    id_prefixes: dict[str, str] = field(repr=False)
    usage_extensions: tuple[str, ...] = ()
    #: ``error.code`` of a Response that fails after HTTP 200, and of a stream's ``error`` event.
    failed_response_code: str = field(default="", repr=False)
    ignored_parameters: tuple[str, ...] = ()
    #: How the profile answers a ``/v1`` route it does not serve (``endpoints.json``); None: it serves every route.
    unrouted: NoRoute | None = field(default=None, repr=False)
    #: How ids look after their prefix: ``uuid`` (the gateway's documented ids) or ``hex`` (OpenAI's).
    id_style: str = "uuid"
    #: Headers on every API reply (OpenAI's ``x-ratelimit-*``).
    reply_headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def runs_in_background(self) -> bool:
        """Whether ``background: true`` queues the response and answers at once (OpenAI), not synchronously."""
        return self.fields.get("background") == "runs_in_background"

    def failure(self, name: str) -> Failure:
        return self.failures[name]

    @property
    def ignores_unknown_parameters(self) -> bool:
        """Whether an unknown request parameter is accepted and ignored (gateway) rather than a 400 (OpenAI)."""
        return self.fields.get("unknown_parameters") == "ignored"

    def serves(self, method: str, path: str) -> bool:
        """Whether the profile's gateway routes ``method path`` (``/v1/...``); True when the profile lists no routes."""
        if self.unrouted is None:
            return True
        return is_served(self.profile, method, path)

    def unrouted_body(self, method: str, path: str) -> tuple[int, dict[str, Any]] | None:
        """The status and body a gateway answers for a ``/v1`` route it does not serve (new-api's NoRoute,
        before authentication, no request id), or None when the profile serves it."""
        if self.serves(method, path):
            return None
        return self.unrouted.status, self.unrouted.error_body(method.upper(), path)

    def ignored_in(self, request: dict[str, Any]) -> list[str]:
        """The top-level parameters of ``request`` this profile accepts but gives no effect, in request order.

        Those the request schema does not know (when the profile ignores
        unknown parameters) and those ``profiles.json`` lists as ignored.
        """
        from .loader import _load

        known = set(_load("request", self.profile).get("properties", {}))
        return [
            name
            for name in request
            if name in self.ignored_parameters or (self.ignores_unknown_parameters and name not in known)
        ]

    def error_body(
        self, name: str, *, request_id: str, param: str | None = None, **values: Any
    ) -> tuple[int, dict[str, Any]]:
        """The status and ``{"error": {...}}`` body for failure ``name``.

        ``values`` fill the message template ({model}, {param}, {detail}, {id}).
        The gateway names the request id inside the message and leaves
        ``param`` out; the openai profile always has ``param`` (maybe null).
        """
        failure = self.failures[name]
        message = failure.message.format_map(_Defaults(param=param or "", **values))
        if self.request_id_in_message:
            message = f"{message} (request id: {request_id})"
        error: dict[str, Any] = {"message": message, "type": failure.type, "code": failure.code}
        if self.error_has_param:
            error["param"] = failure.param if failure.param is not None else param
        return failure.status, {"error": error}


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


@functools.cache
def behaviour(profile: str) -> Behaviour:
    """The behaviour of ``profile`` (``gateway`` or ``openai``)."""
    data = _profiles()[profile]
    envelope = data["error_envelope"]
    failures = {
        name: Failure(
            name=name,
            status=spec["status"],
            type=spec.get("type", envelope["type"]),
            code=spec["code"],
            message=spec["message"],
            param=spec.get("param"),
        )
        for name, spec in data["failures"].items()
    }
    return Behaviour(
        profile=profile,
        error_type=envelope["type"],
        error_has_param=envelope["param"],
        request_id_in_message=envelope["request_id_in_message"],
        request_id_header=envelope["request_id_header"],
        failures=failures,
        fields=dict(data["fields"]),
        id_prefixes=dict(data["id_prefixes"]),
        usage_extensions=tuple(data["usage_extensions"]),
        failed_response_code=data["failed_response_code"],
        ignored_parameters=tuple(data.get("ignored_parameters", ())),
        unrouted=no_route_answer(profile),
        id_style=data["id_style"],
        reply_headers=dict(data["reply_headers"]),
    )


@functools.cache
def _profiles() -> dict[str, Any]:
    path = SCHEMA_ROOT / "profiles.json"
    data = read_json(path)
    schema = read_json(SCHEMA_ROOT / "profiles.schema.json")
    errors = sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise ValueError(f"{path}: {to_pointer(first.absolute_path) or '/'}: {first.message}")
    missing = set(PROFILES) - set(data)
    if missing:
        raise ValueError(f"{path}: missing profiles {sorted(missing)}")
    return data


@dataclass(frozen=True)
class Deviation:
    """One documented way the gateway reply departs from OpenAI's Response."""

    path: str
    kind: str
    openai: str
    gateway: str
    impact: str
    omit: str = "always"

    def matches(self, pointer: str) -> bool:
        """Whether a violation at ``pointer`` is this deviation (``*`` is one path segment)."""
        pattern = self.path.split("/")
        parts = pointer.split("/")
        return len(pattern) == len(parts) and all(
            p == "*" and q != "" or fnmatch.fnmatchcase(q, p) for p, q in zip(pattern, parts, strict=True)
        )


@functools.cache
def deviations() -> tuple[Deviation, ...]:
    """The gateway's known deviations from the openai profile, from ``deviations.json``."""
    data = read_json(SCHEMA_ROOT / "deviations.json")
    return tuple(Deviation(**entry) for entry in data["response"])


def known_deviation(pointer: str) -> Deviation | None:
    """The listed deviation a violation at ``pointer`` is, or None for a new one."""
    return next((d for d in deviations() if d.matches(pointer)), None)


def without_deviations(response: dict[str, Any]) -> dict[str, Any]:
    """``response`` (OpenAI-shaped) with the fields the gateway omits removed, in place.

    The mock builds every reply in OpenAI's full shape and, in the gateway
    profile, drops what ``deviations.json`` says the gateway leaves out, so the
    list of deviations is the only place that knows them.
    """
    for path, only_null in _dropped_paths():
        _drop(response, path, 0, only_null=only_null)
    return response


@functools.cache
def _dropped_paths() -> tuple[tuple[tuple[str, ...], bool], ...]:
    """Every path ``without_deviations`` drops (split once: it runs for every reply), and whether only a null."""
    missing = tuple(
        (tuple(deviation.path.strip("/").split("/")), deviation.omit == "when_null")
        for deviation in deviations()
        if deviation.kind == "missing"
    )
    return missing + tuple((tuple(path), only_null) for path, only_null in _omitted_optional())


@functools.cache
def _omitted_optional() -> tuple[tuple[list[str], bool], ...]:
    entries = read_json(SCHEMA_ROOT / "deviations.json").get("omitted_optional", [])
    return tuple((entry["path"].strip("/").split("/"), entry["omit"] == "when_null") for entry in entries)


def _drop(node: Any, parts: tuple[str, ...], at: int, *, only_null: bool) -> None:
    """Drop what ``parts[at:]`` names below ``node`` (``*``: every item or value)."""
    head, last = parts[at], at == len(parts) - 1
    if head == "*":
        if last or not isinstance(node, (list, dict)):
            return
        for child in node if isinstance(node, list) else list(node.values()):
            _drop(child, parts, at + 1, only_null=only_null)
    elif isinstance(node, dict) and head in node:
        if last:
            if node[head] is None or not only_null:
                del node[head]
        else:
            _drop(node[head], parts, at + 1, only_null=only_null)
