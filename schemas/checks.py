"""The contract's rules as functions: each takes JSON (a reply body, a stream's text, the request) and returns findings.

These are the checks that need no HTTP exchange, so both sides of the kit
use the same ones: the contract suite (``contract_tests/checks.py`` adds what
needs the HTTP reply: its status, envelope and headers) and the mock's
validating proxy (``mockserver/sources/proxy.py``), which judges every reply
passing through it at the same levels (``schemas/levels.json``).

A :class:`Finding` names the rule, the JSON pointer and what is wrong.
Shapes, error types, id prefixes and field effects come from the schemas,
``stream.py`` and ``behaviour.py``, never restated here; what is left is
arithmetic and consistency the schemas cannot express. Every check reads any
JSON without raising (issue 13: the checks judge any reply, they never crash).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

from . import events as event_types
from .behaviour import Behaviour, behaviour, known_deviation
from .findings import Finding
from .loader import schema_names
from .stream import TERMINAL, parse_sse, validate_sse
from .validation import to_pointer, validate


def finding(rule: str, path: str, message: str) -> Finding:
    """A finding of ``rule`` at ``path`` (a JSON pointer, or a stream position); its level is set by the session."""
    return Finding(path=path, message=message, rule=rule)


def object_or_empty(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one: a check reads any reply without crashing on it."""
    return value if isinstance(value, dict) else {}


# --- Successful replies --------------------------------------------------------------------------


def reply_findings(body: Any, request: dict[str, Any], profile: str) -> list[Finding]:
    """Everything a finished reply to ``request`` is held to: the profile's schema, then the invariants."""
    return reply_schema(body, profile) + invariants(body, request, profile)


def reply_schema(body: Any, profile: str) -> list[Finding]:
    """The reply validates against the profile's ``response`` schema."""
    return [finding("schema", v.path, v.message) for v in validate(body, "response", profile)]


def openai_deviations(body: Any) -> list[tuple[Finding, str | None]]:
    """Violations of the openai profile, each with the ``deviations.json`` pattern it is (None: a new one)."""
    out = []
    for violation in validate(body, "response", "openai"):
        deviation = known_deviation(violation.path)
        out.append((finding("openai_compat", violation.path, violation.message), deviation.path if deviation else None))
    return out


def invariants(body: Any, request: dict[str, Any], profile: str) -> list[Finding]:
    """What must hold beyond shape: identity, time, usage arithmetic, status, text, limits."""
    rules = behaviour(profile)
    if not isinstance(body, dict):
        return [finding("status_200", "", f"the reply is not a JSON object: {type(body).__name__}")]
    return [
        *identity(body, request, rules),
        *timestamps(body),
        *usage_arithmetic(body.get("usage")),
        *status_consistency(body),
        *output_present(body, request),
        *token_limit(body, request, rules),
    ]


def identity(body: Any, request: dict[str, Any], rules: Behaviour) -> list[Finding]:
    body = object_or_empty(body)
    found = []
    if body.get("object") != "response":
        found.append(finding("object", "/object", f"expected 'response', got {body.get('object')!r}"))
    prefixes = rules.id_prefixes
    if not str(body.get("id", "")).startswith(prefixes["response"]):
        found.append(finding("id_prefix", "/id", f"{body.get('id')!r} does not start with {prefixes['response']!r}"))
    for index, item in enumerate(_items(body)):
        prefix = prefixes.get(str(item.get("type")))
        if prefix and "id" in item and not str(item["id"]).startswith(prefix):
            found.append(
                finding(
                    "id_prefix",
                    f"/output/{index}/id",
                    f"{item.get('type')} id {item['id']!r} does not start with {prefix!r}",
                )
            )
        if (
            item.get("type") == "function_call"
            and "call" in prefixes
            and not str(item.get("call_id", "")).startswith(prefixes["call"])
        ):
            found.append(
                finding(
                    "id_prefix",
                    f"/output/{index}/call_id",
                    f"{item.get('call_id')!r} does not start with {prefixes['call']!r}",
                )
            )
    asked, got = request.get("model"), body.get("model")
    if asked is not None and got != asked and not str(got).startswith(f"{asked}-"):
        found.append(finding("model_echo", "/model", f"asked for {asked!r}, the reply says {got!r}"))
    return found


def timestamps(body: Any) -> list[Finding]:
    body = object_or_empty(body)
    created, completed = body.get("created_at"), body.get("completed_at")
    if _number(created) and _number(completed) and completed < created:
        return [finding("timestamps", "/completed_at", f"completed_at {completed} is before created_at {created}")]
    return []


def usage_arithmetic(usage: Any, path: str = "/usage") -> list[Finding]:
    """``total = input + output``; reasoning tokens within output, cached within input; each ``x_details`` entry too."""
    if not isinstance(usage, dict):
        return []
    found = []
    given, produced, total = usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens")
    if all(isinstance(v, int) for v in (given, produced, total)) and total != given + produced:
        found.append(
            finding(
                "usage_arithmetic",
                f"{path}/total_tokens",
                f"{total} != input_tokens {given} + output_tokens {produced}",
            )
        )
    reasoning = object_or_empty(usage.get("output_tokens_details")).get("reasoning_tokens")
    cached = object_or_empty(usage.get("input_tokens_details")).get("cached_tokens")
    for part, whole, pointer, what in (
        (reasoning, produced, "output_tokens_details/reasoning_tokens", "reasoning tokens > {} output tokens"),
        (cached, given, "input_tokens_details/cached_tokens", "cached tokens > {} input tokens"),
    ):
        if isinstance(part, int) and isinstance(whole, int) and part > whole:
            found.append(finding("usage_arithmetic", f"{path}/{pointer}", f"{part} {what.format(whole)}"))
    details = usage.get("x_details")
    if isinstance(details, list):
        for index, entry in enumerate(details):
            if isinstance(entry, dict):
                found += usage_arithmetic(
                    {k: v for k, v in entry.items() if k != "x_details"}, f"{path}/x_details/{index}"
                )
        if len(details) == 1 and isinstance(details[0], dict):  # one billing entry: it is the whole usage
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                if key in details[0] and details[0][key] != usage.get(key):
                    found.append(
                        finding(
                            "usage_arithmetic",
                            f"{path}/x_details/0/{key}",
                            f"{details[0][key]} disagrees with usage.{key} {usage.get(key)}",
                        )
                    )
    return found


def status_consistency(body: Any) -> list[Finding]:
    """``incomplete`` iff a reason is given; ``failed`` under HTTP 200 is a failed reply."""
    body = object_or_empty(body)
    status, details = body.get("status"), body.get("incomplete_details")
    found = []
    if status == "incomplete" and not (isinstance(details, dict) and details.get("reason")):
        found.append(
            finding(
                "status_consistency",
                "/incomplete_details",
                "status is 'incomplete' but no incomplete_details.reason says why",
            )
        )
    if status != "incomplete" and details:
        found.append(
            finding(
                "status_consistency", "/incomplete_details", f"status {status!r} with incomplete_details {details!r}"
            )
        )
    if status == "failed":
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        found.append(
            finding(
                "failed_reply", "/status", f"HTTP 200 but status 'failed' ({error.get('code')}: {error.get('message')})"
            )
        )
    elif status is not None and status not in ("completed", "incomplete"):
        found.append(
            finding("status_consistency", "/status", f"a synchronous reply must be finished, got status {status!r}")
        )
    return found


def output_present(body: Any, request: dict[str, Any]) -> list[Finding]:
    """A completed reply says something (text, a refusal or a tool call); JSON when a JSON format was asked for."""
    body = object_or_empty(body)
    if body.get("status", "completed") != "completed":
        return []
    text = output_text(body)
    calls = [item for item in _items(body) if item.get("type") == "function_call"]
    if not text and not calls and not _refuses(body):
        return [
            finding("output_text", "/output", "a completed reply has neither output text, a refusal nor a tool call")
        ]
    found = []
    for index, item in enumerate(_items(body)):
        if item.get("type") == "function_call" and not _is_json(item.get("arguments")):
            found.append(finding("output_text", f"/output/{index}/arguments", "function call arguments are not JSON"))
        elif item.get("type") == "function_call":
            found += tool_arguments(item, index, request)
    return found + json_output(text, request)


def _refuses(body: dict[str, Any]) -> bool:
    """Whether a message of the reply carries a ``refusal`` part with its text (a model declining is an answer)."""
    return any(
        isinstance(part, dict) and part.get("type") == "refusal" and isinstance(part.get("refusal"), str)
        for item in _items(body)
        if item.get("type") == "message" and isinstance(item.get("content"), list)
        for part in item["content"]
    )


def tool_arguments(call: Any, index: int, request: dict[str, Any]) -> list[Finding]:
    """A call to a ``strict`` function tool: the arguments are an instance of its ``parameters``."""
    call = object_or_empty(call)
    if not _is_json(call.get("arguments")):
        return []
    tool = next(
        (t for t in request.get("tools") or [] if t.get("type") == "function" and t.get("name") == call.get("name")),
        None,
    )
    if tool is None:
        return [
            finding(
                "tool_arguments",
                f"/output/{index}/name",
                f"the reply calls {call.get('name')!r}, which is not among the request's tools",
            )
        ]
    if not tool.get("strict") or not isinstance(tool.get("parameters"), dict):
        return []
    return [
        finding(
            "tool_arguments",
            f"/output/{index}/arguments",
            f"the arguments break {tool['name']}'s parameters at {to_pointer(e.absolute_path) or '/'}: {e.message}",
        )
        for e in Draft202012Validator(tool["parameters"]).iter_errors(json.loads(call["arguments"]))
    ][:5]


def json_output(text: str, request: dict[str, Any]) -> list[Finding]:
    """``text.format`` json_object or json_schema: the text is JSON; with ``strict``, an instance of the schema."""
    fmt = (request.get("text") or {}).get("format") or {}
    if fmt.get("type") not in ("json_object", "json_schema") or not text or not isinstance(text, str):
        return []
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return [
            finding(
                "json_output",
                "/output",
                f"text.format {fmt['type']} asks for JSON; the text is not JSON: {text[:80]!r}",
            )
        ]
    if fmt["type"] == "json_schema" and fmt.get("strict") and isinstance(fmt.get("schema"), dict):
        return [
            finding(
                "json_output",
                "/output",
                f"the JSON text breaks the requested schema at {to_pointer(e.absolute_path) or '/'}: {e.message}",
            )
            for e in Draft202012Validator(fmt["schema"]).iter_errors(value)
        ][:5]
    return []


def token_limit(body: Any, request: dict[str, Any], rules: Behaviour) -> list[Finding]:
    """``output_tokens`` within the cap in effect; ``max_tokens`` takes the effect the profile says.

    ``behaviour.fields["max_tokens"]`` is ``ignored`` at the gateway (it
    drops the field): a reply cut short by it there is a finding, not a pass.
    """
    body = object_or_empty(body)
    produced = object_or_empty(body.get("usage")).get("output_tokens")
    effect = rules.fields.get("max_tokens", "ignored")
    cap = request.get("max_output_tokens")
    if cap is None and effect != "ignored":
        cap = request.get("max_tokens")
    found = []
    if isinstance(produced, int) and isinstance(cap, int) and produced > cap:
        found.append(
            finding("token_limit", "/usage/output_tokens", f"{produced} output tokens exceed the cap of {cap}")
        )
    reason = (
        (body.get("incomplete_details") or {}).get("reason")
        if isinstance(body.get("incomplete_details"), dict)
        else None
    )
    max_tokens = request.get("max_tokens")
    if (
        effect == "ignored"
        and request.get("max_output_tokens") is None
        and isinstance(max_tokens, int)
        and reason == "max_output_tokens"
    ):
        found.append(
            finding(
                "max_tokens_effect",
                "/incomplete_details/reason",
                f"the reply was cut at {produced} output tokens by max_tokens={max_tokens}, "
                f"which the {rules.profile} profile says has no effect",
            )
        )
    return found


def output_text(body: Any) -> str:
    """The reply's text, as the SDK's ``output_text`` computes it (a part whose text is not a string adds none:
    the schema reports it)."""
    return "".join(
        part["text"]
        for item in _items(body)
        if item.get("type") == "message" and isinstance(item.get("content"), list)
        for part in item["content"]
        if isinstance(part, dict) and part.get("type") == "output_text" and isinstance(part.get("text"), str)
    )


def _items(body: Any) -> list[dict[str, Any]]:
    output = object_or_empty(body).get("output")
    return [item for item in output if isinstance(item, dict)] if isinstance(output, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_json(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past what the parser can read
        return False
    return True


# --- Streams -------------------------------------------------------------------------------------


def stream_findings(text: str, profile: str) -> tuple[list[Finding], dict[str, Any] | None]:
    """Stream rules (``schemas.stream``) on a stream's text, and the final reply's text is the concatenated deltas.

    Returns the findings and the final response (from the terminal event),
    which the caller checks like a plain reply (:func:`reply_findings`).
    """
    found = [
        finding(f"stream.{v.rule}", _where(v.index, v.event_type, v.path), v.message)
        for v in validate_sse(text, profile)
    ]
    events = [e.json for e in parse_sse(text).events if isinstance(e.json, dict)]
    final = next(
        (
            e.get("response")
            for e in reversed(events)
            if isinstance(e.get("type"), str) and e["type"] in TERMINAL and isinstance(e.get("response"), dict)
        ),
        None,
    )
    if final is not None:
        deltas = "".join(str(e.get("delta", "")) for e in events if e.get("type") == event_types.OUTPUT_TEXT_DELTA)
        if deltas != output_text(final):
            found.append(
                finding(
                    "stream_text",
                    "/response/output",
                    f"the final text ({output_text(final)[:40]!r}…) is not the concatenated deltas ({deltas[:40]!r}…)",
                )
            )
    return found, final


def _where(index: int, event_type: str | None, path: str) -> str:
    return f"event #{index} ({event_type}){path}" if index >= 0 else f"stream{path}"


# --- Stored responses and other routes -----------------------------------------------------------


def same_json(created: Any, retrieved: Any, rule: str = "retrieve") -> list[Finding]:
    """Where two JSON values differ, as findings (at most ten)."""
    return [
        finding(rule, pointer, f"created {left!r:.60}, retrieved {right!r:.60}")
        for pointer, left, right in _differences(created, retrieved)
    ][:10]


def _differences(left: Any, right: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            pointer = f"{path}/{to_pointer([key])[1:]}"
            if key not in left or key not in right:
                yield pointer, left.get(key, "<absent>"), right.get(key, "<absent>")
            else:
                yield from _differences(left[key], right[key], pointer)
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            yield from _differences(a, b, f"{path}/{index}")
    elif left != right:
        yield path, left, right


def documented_shape(body: Any, documented: dict[str, Any], *, same_keys: bool) -> list[Finding]:
    """The reply looks like the documented one: its keys (gateway profile), reasoning before the message.

    The documented model reasons by default, so its reply has a reasoning
    item first; a reply to the same request without one, or with it after
    the message, is not the documented shape.
    """
    body = object_or_empty(body)
    found = []
    if same_keys:
        for key in sorted(set(documented) - set(body)):
            found.append(finding("documented_shape", f"/{key}", "in the documented reply, missing here"))
        usage, documented_usage = body.get("usage"), documented.get("usage")
        if isinstance(usage, dict) and isinstance(documented_usage, dict):
            for key in sorted(set(documented_usage) - set(usage)):
                found.append(finding("documented_shape", f"/usage/{key}", "in the documented reply, missing here"))
    kinds = [item.get("type") for item in _items(body)]
    documented_kinds = [item.get("type") for item in _items(documented)]
    if "reasoning" in documented_kinds and same_keys and "reasoning" not in kinds:
        found.append(
            finding(
                "documented_shape",
                "/output",
                f"the documented reply starts with a reasoning item; this one has {kinds}",
            )
        )
    if "reasoning" in kinds and "message" in kinds and kinds.index("reasoning") > kinds.index("message"):
        found.append(
            finding("documented_shape", "/output", f"the reasoning item must come before the message: {kinds}")
        )
    return found


def model_list(body: Any, profile: str) -> list[Finding]:
    """``GET /v1/models`` against the ``model_list`` schema (the gateway's when the profile has none)."""
    name_profile = profile if "model_list" in schema_names(profile) else "gateway"
    return [finding("model_list", v.path, v.message) for v in validate(body, "model_list", name_profile)]


def deleted(body: Any, profile: str, response_id: str) -> list[Finding]:
    """A ``DELETE`` body, when there is one: the profile's ``deleted`` schema, naming the response."""
    found = (
        [finding("delete", v.path, v.message) for v in validate(body, "deleted", profile)]
        if "deleted" in schema_names(profile)
        else []
    )
    if isinstance(body, dict) and body.get("id") not in (None, response_id):
        found.append(finding("delete", "/id", f"{body.get('id')!r} is not the deleted response {response_id!r}"))
    return found
