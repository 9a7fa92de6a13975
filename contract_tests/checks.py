"""The contract's rules as plain functions: each returns the findings it makes.

The rules that need only JSON (a body, a stream's text, the request) live in
``schemas/checks.py``, shared with the mock's validating proxy, and are
re-exported here; this module adds what needs the HTTP reply (its status,
envelope, headers and the exchanges of the stored-response routes).

A :class:`Finding` names the rule, the JSON pointer and what is wrong; the
suite's tests turn findings into a failure report with the request as a curl
command. Shapes, statuses, error types, id prefixes and field effects come
from ``schemas`` (the schemas, ``schemas.stream``, ``profiles.json`` through
``schemas.behaviour``), never restated here; what is left is arithmetic and
consistency the schemas cannot express.

Rules (the ``rule`` of a finding):

- ``status_200``: a valid request is answered 200.
- ``schema``: the reply validates against the profile's ``response`` schema.
- ``openai_compat``: a deviation from the openai profile (fails only with ``--contract-strict-openai``).
- ``object``, ``id_prefix``, ``model_echo``, ``timestamps``: the reply's identity.
- ``usage_arithmetic``: ``total = input + output``, reasoning within output, cached within input, ``x_details`` agree.
- ``status_consistency``: ``incomplete`` if and only if ``incomplete_details.reason``; a synchronous reply is finished.
- ``failed_reply``: HTTP 200 with ``status: "failed"`` is a failed reply, not a pass.
- ``output_text``: a completed reply has text or a tool call (with JSON arguments).
- ``json_output``: JSON text when ``text.format`` asks for it (and the schema's instance when ``strict``).
- ``tool_arguments``: a call to a ``strict`` function tool has arguments that fit its ``parameters``.
- ``token_limit``, ``max_tokens_effect``: output caps as the profile says (``behaviour.fields``).
- ``no_5xx``, ``rejects_invalid``, ``error_status``, ``error_envelope``, ``error_type``, ``error_param``,
  ``request_id_header``, ``request_id_message``: errors as the profile says.
- ``stream.<rule>`` (from ``schemas.stream``), ``stream_content_type``, ``stream_text``: streams.
- ``retrieve``, ``input_items``, ``chain``, ``delete``: stored responses.
- ``isolation``: one key's stored response reached with another key (a leak);
  ``isolation_existence``: a refusal that tells "exists but not yours" from "does not exist".
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemas
from schemas.behaviour import Behaviour, behaviour
from schemas.checks import (
    deleted,
    documented_shape,
    finding,
    identity,
    invariants,
    json_output,
    model_list,
    object_or_empty,
    openai_deviations,
    output_present,
    output_text,
    reply_findings,
    reply_schema,
    same_json,
    status_consistency,
    stream_findings,
    timestamps,
    token_limit,
    tool_arguments,
    usage_arithmetic,
)
from schemas.findings import Finding

from .target import Reply

__all__ = [
    "deleted",
    "documented_shape",
    "error_reply",
    "finding",
    "identity",
    "input_items",
    "invariants",
    "is_no_route",
    "json_output",
    "leaked_follow_up",
    "leaked_route",
    "model_list",
    "object_or_empty",
    "openai_deviations",
    "output_present",
    "output_text",
    "refused_alike",
    "reply_findings",
    "reply_schema",
    "reply_status",
    "same_json",
    "status_consistency",
    "stream",
    "stream_findings",
    "timestamps",
    "token_limit",
    "tool_arguments",
    "unknown_parameters_accepted",
    "unrouted",
    "usage_arithmetic",
]


# --- Successful replies -------------------------------------------------------------------------


def reply_status(reply: Reply) -> list[Finding]:
    """A valid request gets HTTP 200 with a JSON body."""
    if reply.status != 200:
        return [finding("status_200", "", f"HTTP {reply.status} for a valid request: {reply.text[:300]}")]
    if not isinstance(reply.json, dict):
        return [finding("status_200", "", f"the 200 body is not a JSON object: {reply.text[:120]!r}")]
    return []


# --- Error replies ------------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"\(request id: ([^)]*)\)\s*$")


def error_reply(reply: Reply, profile: str, failure: str | None = None) -> list[Finding]:
    """An error as the profile says: status, envelope, ``type``, ``param``, request id.

    ``failure`` names the kind (``profiles.json``: ``missing_input``,
    ``invalid_key``...): then the status and type must be the profile's for
    it. Without it, any 4xx in the envelope will do. A 5xx for bad input is
    always a finding (the live gateway answers a body without ``input``
    with 500), unless the profile itself says 5xx (503 ``model_not_found``
    at the gateway).
    """
    rules = behaviour(profile)
    expected = rules.failure(failure) if failure else None
    found = []
    if reply.status >= 500 and (expected is None or expected.status < 500):
        wanted = f" (the {profile} profile says {expected.status})" if expected else ""
        found.append(finding("no_5xx", "", f"HTTP {reply.status} for a client error{wanted}"))
    elif reply.status < 400:
        found.append(
            finding("rejects_invalid", "", f"HTTP {reply.status}: the request was accepted, a 4xx was expected")
        )
    elif expected is not None and reply.status != expected.status:
        found.append(
            finding(
                "error_status",
                "",
                f"{failure}: the {profile} profile answers HTTP {expected.status}, got {reply.status}",
            )
        )
    if reply.status < 400:
        return found
    body = reply.json
    if not isinstance(body, dict):
        return found + [finding("error_envelope", "", f"the error body is not a JSON object: {reply.text[:120]!r}")]
    found += [finding("error_envelope", v.path, v.message) for v in schemas.validate(body, "error", profile)]
    error = body.get("error")
    if isinstance(error, dict):
        wanted_type = expected.type if expected else None
        if wanted_type is not None and error.get("type") != wanted_type:
            found.append(
                finding(
                    "error_type",
                    "/error/type",
                    f"{failure}: the {profile} profile says {wanted_type!r}, got {error.get('type')!r}",
                )
            )
        if rules.error_has_param and "param" not in error:
            found.append(
                finding("error_param", "/error/param", f"the {profile} envelope always carries param (maybe null)")
            )
        if not rules.error_has_param and expected is not None and expected.param is None and "param" in error:
            found.append(
                finding("error_param", "/error/param", f"{failure}: the {profile} profile's errors carry no param")
            )
        found += _request_id(reply, error, rules)
    header = rules.request_id_header
    if not reply.header(header):
        found.append(finding("request_id_header", "", f"no {header} header on the error reply"))
    return found


def _request_id(reply: Reply, error: dict[str, Any], rules: Behaviour) -> list[Finding]:
    if not rules.request_id_in_message:
        return []
    match = _REQUEST_ID.search(str(error.get("message", "")))
    if match is None:
        return [
            finding(
                "request_id_message",
                "/error/message",
                f"{rules.profile} messages end with '(request id: ...)': {str(error.get('message'))[:120]!r}",
            )
        ]
    header = reply.header(rules.request_id_header)
    if header and match.group(1) != header:
        return [
            finding(
                "request_id_message",
                "/error/message",
                f"request id {match.group(1)!r} in the message differs "
                f"from the {rules.request_id_header} header {header!r}",
            )
        ]
    return []


# --- Streams ------------------------------------------------------------------------------------


def stream(reply: Reply, profile: str) -> tuple[list[Finding], dict[str, Any] | None]:
    """A streamed reply: HTTP 200 as an event stream, then the stream rules (:func:`schemas.checks.stream_findings`).

    Returns the findings and the final response (from the terminal event),
    which the caller checks like a plain reply.
    """
    if reply.status != 200:
        return [
            finding("status_200", "", f"HTTP {reply.status} for a valid streamed request: {reply.text[:300]}")
        ], None
    found = []
    if reply.content_type != "text/event-stream":
        found.append(
            finding("stream_content_type", "", f"Content-Type {reply.content_type!r}, expected text/event-stream")
        )
    stream_found, final = stream_findings(reply.text, profile)
    return found + stream_found, final


# --- Stored responses ---------------------------------------------------------------------------


def input_items(reply: Reply, profile: str, sent_texts: list[str]) -> list[Finding]:
    """``GET .../input_items``: a list page (schema), ids at its ends, the input sent in it."""
    if reply.status != 200:
        return [finding("input_items", "", f"HTTP {reply.status}: {reply.text[:200]}")]
    body = reply.json
    name = "input_items_list" if "input_items_list" in schemas.schema_names(profile) else None
    found = [finding("input_items", v.path, v.message) for v in schemas.validate(body, name, profile)] if name else []
    if found or not isinstance(body, dict):
        return found
    listed_items = body.get("data")
    data = [item for item in listed_items if isinstance(item, dict)] if isinstance(listed_items, list) else []
    if data and body.get("first_id") != data[0].get("id"):
        found.append(
            finding(
                "input_items", "/first_id", f"{body.get('first_id')!r} is not the first item's id {data[0].get('id')!r}"
            )
        )
    if data and body.get("last_id") != data[-1].get("id"):
        found.append(
            finding(
                "input_items", "/last_id", f"{body.get('last_id')!r} is not the last item's id {data[-1].get('id')!r}"
            )
        )
    listed = json.dumps(data, ensure_ascii=False)
    for text in sent_texts:
        if text not in listed:
            found.append(finding("input_items", "/data", f"the input sent ({text!r}) is not among the listed items"))
    return found


# --- Routes the gateway does not serve ----------------------------------------------------------


def unrouted(reply: Reply, profile: str, method: str, path: str) -> list[Finding]:
    """A route the profile's gateway does not serve answers its NoRoute 404, byte for byte.

    new-api routes only ``POST /v1/responses`` (and ``/compact``) for this
    API; ``GET``/``DELETE /v1/responses/{id}`` and ``input_items`` fall to its
    NoRoute handler (``profiles.json``: ``unrouted``). A 2xx there means the
    target serves more than the gateway does (an ``--keep-stored-routes``
    mock, or the gateway changed): reported as ``retrieval_route``, an
    observation. Any other answer is a violation of ``error_envelope``.
    """
    expected = behaviour(profile).unrouted_body(method, path)
    if expected is None:
        return []
    status, body = expected
    if 200 <= reply.status < 300:
        return [
            finding(
                "retrieval_route",
                "",
                f"{method} {path} answered HTTP {reply.status}: the gateway "
                f"(new-api) does not route it and answers {status} 'Invalid URL'",
            )
        ]
    if reply.status != status or reply.json != body:
        return [
            finding(
                "error_envelope",
                "",
                f"{method} {path}: expected HTTP {status} "
                f"{json.dumps(body, ensure_ascii=False)}, got HTTP {reply.status} {reply.text[:200]!r}",
            )
        ]
    return []


def unknown_parameters_accepted(reply: Reply, profile: str, names: list[str]) -> list[Finding]:
    """Where the profile ignores unknown parameters (the upstream documents it), a request with some is answered."""
    if not behaviour(profile).ignores_unknown_parameters or reply.status < 400:
        return []
    return [
        finding(
            "accepts_unknown_parameters",
            "",
            f"HTTP {reply.status} for a request with parameters the upstream documents it ignores "
            f"({', '.join(names)}): {reply.text[:200]}",
        )
    ]


# --- Isolation between keys ---------------------------------------------------------------------


def is_no_route(reply: Reply, profile: str, method: str, path: str) -> bool:
    """Whether ``reply`` is the profile gateway's NoRoute answer to ``method path`` (the route is not served)."""
    expected = behaviour(profile).unrouted_body(method, path)
    return expected is not None and (reply.status, reply.json) == expected


def leaked_route(reply: Reply, what: str, record_id: str, kind: str = "response") -> list[Finding]:
    """A route of a stored record (a response, a conversation) answered the second key with a 2xx for the first
    key's record: a leak."""
    if not 200 <= reply.status < 300:
        return []
    return [
        finding(
            "isolation",
            "",
            f"{what} of {record_id}, a {kind} the first key created, answered the second key with "
            f"HTTP {reply.status}: {reply.text[:160]!r}; another key's {kind} must answer as an unknown id",
        )
    ]


def leaked_follow_up(theirs: Reply, unknown: Reply, response_id: str) -> list[Finding]:
    """The second key continued the first key's response through ``previous_response_id``: a leak.

    ``theirs`` is the second key's follow-up of the first key's response,
    ``unknown`` the same follow-up of an id that never existed. Accepted
    where the unknown id is refused, it was found; accepted like the
    unknown id but with more input tokens, the first key's conversation was
    read into it. Accepted alike with the same count, the target ignores ids
    it does not know: nothing leaked.
    """
    if theirs.status != 200:
        return []
    leak = (
        f"a follow-up with previous_response_id {response_id}, a response the first key created, "
        f"was answered to the second key (HTTP 200)"
    )
    if unknown.status != 200:
        where = "/previous_response_id"
        return [finding("isolation", where, f"{leak}, while an unknown id gets HTTP {unknown.status}")]
    theirs_in, unknown_in = _input_tokens(theirs), _input_tokens(unknown)
    if theirs_in is not None and unknown_in is not None and theirs_in > unknown_in:
        return [
            finding(
                "isolation",
                "/usage/input_tokens",
                f"{leak} with {theirs_in} input tokens against {unknown_in} for an unknown id: "
                "the first key's conversation was included",
            )
        ]
    return []


def _input_tokens(reply: Reply) -> int | None:
    tokens = object_or_empty(object_or_empty(reply.json).get("usage")).get("input_tokens")
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None


def refused_alike(theirs: Reply, unknown_status: int, unknown_error: Any, what: str) -> list[Finding]:
    """The second key's refusal answers as an unknown id does: same status, same error ``type`` and ``code``.

    A refusal that differs (a 403 "not yours" where an unknown id gets 404)
    tells that the response exists: an ``isolation_existence`` observation.
    """
    if 200 <= theirs.status < 300:
        return []
    mine = object_or_empty(object_or_empty(theirs.json).get("error"))
    other = object_or_empty(unknown_error)
    differences = [f"HTTP {theirs.status} against {unknown_status}"] if theirs.status != unknown_status else []
    differences += [
        f"{field} {mine.get(field)!r} against {other.get(field)!r}"
        for field in ("type", "code")
        if mine.get(field) != other.get(field)
    ]
    if not differences:
        return []
    return [
        finding(
            "isolation_existence",
            "",
            f"{what}: the second key's refusal differs from an unknown id's ({'; '.join(differences)}): "
            "it tells that the response exists",
        )
    ]
