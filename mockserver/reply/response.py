"""Building the Response object for a create request.

The reply is built once, in full, before anything is sent: the streamed form
is derived from it (``events.py``), so streamed and plain replies to the same
request and seed are equal. It is built in OpenAI's full shape and, in the
gateway profile, the documented deviations are removed
(``schemas.behaviour.without_deviations``). What it says comes from
``text.py`` (the text) or ``tools.py`` (function calls); what it echoes of
the request, and the defaults it echoes, from ``schemas/endpoints.json``.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
from dataclasses import dataclass
from typing import Any

from schemas.behaviour import Behaviour, without_deviations
from schemas.endpoints import response_echo_defaults

from ..config import ModelSpec
from . import builtin, tools
from . import text as texts
from .ids import Ids, ids_for
from .tokens import count_input_tokens, count_tokens, item_texts, tokenize, truncate


@dataclass
class Turn:
    """One create request, resolved: the conversation the model sees and this turn's new items."""

    request: dict[str, Any]
    model: ModelSpec
    input_items: list[dict[str, Any]]
    conversation: list[dict[str, Any]]


def normalise_input(value: str | list[dict[str, Any]], ids: Ids) -> list[dict[str, Any]]:
    """Input as stored items: typed, with ids, message content as a list of parts."""
    if isinstance(value, str):
        value = [{"role": "user", "content": value}]
    items = []
    for raw in value:
        item = dict(raw)
        kind = item.setdefault("type", "message")
        if kind == "message":
            if isinstance(item.get("content"), str):
                part_type = "output_text" if item.get("role") == "assistant" else "input_text"
                item["content"] = [{"type": part_type, "text": item["content"]}]
            item.setdefault("status", "completed")
        item.setdefault("id", ids.new("input_item"))
        items.append(item)
    return items


def reasoning_enabled(request: dict[str, Any], model: ModelSpec) -> bool:
    """``reasoning.effort`` wins, then DashScope's ``enable_thinking``, then the model's default."""
    effort = (request.get("reasoning") or {}).get("effort")
    if effort is not None:
        return effort != "none"
    if "enable_thinking" in request:
        return bool(request["enable_thinking"])
    return model.reasons


def output_cap(request: dict[str, Any], behaviour: Behaviour) -> int | None:
    """The token cap that takes effect in this profile (see profiles.json ``fields``)."""
    if request.get("max_output_tokens") is not None:
        return request["max_output_tokens"]
    if behaviour.fields["max_tokens"] == "caps_output_unless_max_output_tokens":
        return request.get("max_tokens")
    return None


def build_response(
    turn: Turn,
    behaviour: Behaviour,
    rng: random.Random,
    *,
    response_id: str | None = None,
    text: str | None = None,
    output: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The finished Response for ``turn``: output items, status and usage that adds up.

    The turn's answer is, in order of precedence: ``text`` when given (a
    scenario's fixed reply), function calls (``tools.py``), or the text
    ``text.answer_text`` makes. ``output`` (a scenario's fixed output items)
    replaces all of that, uncapped.
    """
    created_at = int(time.time())
    ids = ids_for(behaviour)
    if output is not None:
        return _fixed_output_response(turn, behaviour, output, response_id, created_at)
    user_text = texts.last_user_text(turn.conversation)
    answering = tools.answers_tool_calls(turn.conversation)
    ran = builtin.run(turn.request, user_text, rng, ids, behaviour, answering=answering) if text is None else None
    calls = tools.function_calls(turn.request, turn.conversation, rng, ids) if text is None else []
    if text is None and not calls:
        text = texts.answer_text(turn.request, turn.conversation, rng, ran)
    draft = text if text is not None else "; ".join(f"call {c['name']}({c['arguments']})" for c in calls)
    summary = texts.reasoning_summary(user_text, draft, rng) if reasoning_enabled(turn.request, turn.model) else None
    cap = output_cap(turn.request, behaviour)
    tool_tokens = ran.tokens if ran else 0
    if cap is not None and tool_tokens:
        cap = max(cap - tool_tokens, 1)  # the calls' code was written first
    if calls:
        output, reasoning_tokens, text_tokens, cut = _calls_to_cap(summary, calls, cap)
    else:
        output, reasoning_tokens, text_tokens, cut = _cut_to_cap(summary, text, cap)
    items: list[dict[str, Any]] = []
    if output["summary"] is not None:
        items.append(reasoning_item(output["summary"], ids))
    items.extend(ran.items if ran else [])
    if output["text"] is not None:
        annotations = texts.citations(output["text"], ran) if behaviour.profile == "openai" else []
        status = "incomplete" if cut else "completed"
        items.append(message_item(output["text"], ids, status=status, annotations=annotations))
    items.extend(output.get("calls", []))
    if behaviour.profile == "openai":
        honour_include(items, turn.request.get("include") or [])
    tokens = (text_tokens + tool_tokens, reasoning_tokens)
    return _finished(
        turn, behaviour, items, tokens, response_id, created_at, cut=cut, tool_calls=ran.counts if ran else None
    )


#: The ``include`` values the mock honours (the built-in tools' are honoured by ``builtin.py``); the other
#: documented values are accepted and change nothing, as nothing the mock sends has what they add.
ENCRYPTED_REASONING = "reasoning.encrypted_content"
OUTPUT_LOGPROBS = "message.output_text.logprobs"


def honour_include(items: list[dict[str, Any]], include: list[str]) -> None:
    """Add what ``include`` asks for, in place: reasoning items' ``encrypted_content``, output text's ``logprobs``."""
    for item in items:
        if item["type"] == "reasoning" and ENCRYPTED_REASONING in include:
            summary = " ".join(part.get("text", "") for part in item.get("summary", []))
            item["encrypted_content"] = "mock-reasoning." + base64.urlsafe_b64encode(summary.encode()).decode()
        if item["type"] == "message" and OUTPUT_LOGPROBS in include:
            for part in item["content"]:
                if part.get("type") == "output_text":
                    part["logprobs"] = logprobs(part["text"])


def logprobs(text: str) -> list[dict[str, Any]]:
    """Deterministic log probabilities, one per token of ``text`` (OpenAI's shape, no alternatives)."""
    found = []
    for piece in tokenize(text):
        digest = hashlib.sha256(piece.encode()).digest()
        value = -round(digest[0] / 255 * 2.5, 4)
        found.append({"token": piece, "logprob": value, "bytes": list(piece.encode()), "top_logprobs": []})
    return found


def _fixed_output_response(
    turn: Turn, behaviour: Behaviour, output: list[dict[str, Any]], response_id: str | None, created_at: int
) -> dict[str, Any]:
    """A completed reply whose output is ``output`` (ids filled in where missing), with usage counted from it."""
    items = [with_ids(item, ids_for(behaviour)) for item in output]
    reasoning_tokens = sum(
        count_tokens(text) for item in items if item["type"] == "reasoning" for text in item_texts(item)
    )
    text_tokens = sum(count_tokens(text) for item in items if item["type"] != "reasoning" for text in item_texts(item))
    return _finished(turn, behaviour, items, (text_tokens, reasoning_tokens), response_id, created_at)


def _finished(
    turn: Turn,
    behaviour: Behaviour,
    items: list[dict[str, Any]],
    tokens: tuple[int, int],
    response_id: str | None,
    created_at: int,
    *,
    cut: bool = False,
    tool_calls: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The Response around ``items``: the echoed envelope, the status (``incomplete`` when ``cut``), and usage
    from ``tokens`` (text, reasoning) plus the conversation's input; ``tool_calls`` counts built-in tool calls."""
    text_tokens, reasoning_tokens = tokens
    response_id = response_id or ids_for(behaviour).new("response")
    response = response_envelope(turn.request, behaviour, response_id, created_at)
    response.update(
        status="incomplete" if cut else "completed",
        incomplete_details={"reason": "max_output_tokens"} if cut else None,
        output=items,
        usage=usage(
            count_input_tokens(turn.conversation, turn.request.get("instructions")),
            text_tokens,
            reasoning_tokens,
            behaviour,
            tool_calls=tool_calls,
        ),
        completed_at=max(created_at, int(time.time())),
    )
    return shaped(response, behaviour)


def with_ids(item: dict[str, Any], ids: Ids) -> dict[str, Any]:
    """An output item with the ids a reply must carry, generated where the item leaves them out."""
    made = {"id": ids.new(item["type"])}
    if item["type"] == "function_call":
        made["call_id"] = ids.new("call")
    return {**made, **item}


def failed_response(
    response: dict[str, Any], message: str, behaviour: Behaviour, output: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """``response`` as failed, the gateway's way: ``status: "failed"``, an error
    object with the profile's ``failed_response_code``, ``output`` (the items
    finished before the failure; none by default), and usage that charges the
    input only.

    ``response`` may be a finished reply or a stream's first snapshot (a
    recorded stream cut short), which may carry no usage: then none is charged.
    """
    failed = {
        **response,
        "status": "failed",
        "error": {"code": behaviour.failed_response_code, "message": message},
        "incomplete_details": None,
        "output": output or [],
    }
    input_tokens = (response.get("usage") or {}).get("input_tokens")
    failed["usage"] = usage(input_tokens if isinstance(input_tokens, int) else 0, 0, 0, behaviour)
    return shaped(failed, behaviour)


def shaped(response: dict[str, Any], behaviour: Behaviour) -> dict[str, Any]:
    """The response in the profile's shape (the gateway omits its documented deviations)."""
    return without_deviations(response) if behaviour.profile == "gateway" else response


def _cut_to_cap(summary: str | None, text: str, cap: int | None) -> tuple[dict[str, str | None], int, int, bool]:
    """Spend the token cap on reasoning first, then on the text, as a model does."""
    reasoning_tokens = count_tokens(summary) if summary is not None else 0
    text_tokens = count_tokens(text)
    if cap is None or reasoning_tokens + text_tokens <= cap:
        return {"summary": summary, "text": text}, reasoning_tokens, text_tokens, False
    if summary is not None and reasoning_tokens >= cap:
        return {"summary": truncate(summary, cap), "text": None}, cap, 0, True
    left = cap - reasoning_tokens
    return {"summary": summary, "text": truncate(text, left)}, reasoning_tokens, left, True


def _calls_to_cap(
    summary: str | None, calls: list[dict[str, Any]], cap: int | None
) -> tuple[dict[str, Any], int, int, bool]:
    """Reasoning first, then whole calls while they fit: a call is never cut in half."""
    reasoning_tokens = count_tokens(summary) if summary is not None else 0
    if cap is not None and summary is not None and reasoning_tokens >= cap:
        return {"summary": truncate(summary, cap), "text": None, "calls": []}, cap, 0, True
    kept: list[dict[str, Any]] = []
    spent = 0
    for call in calls:
        cost = count_tokens(call["name"] + call["arguments"])
        if cap is not None and reasoning_tokens + spent + cost > cap:
            return {"summary": summary, "text": None, "calls": kept}, reasoning_tokens, spent, True
        kept.append(call)
        spent += cost
    return {"summary": summary, "text": None, "calls": kept}, reasoning_tokens, spent, False


def reasoning_item(summary: str, ids: Ids) -> dict[str, Any]:
    """A reasoning output item carrying ``summary`` as its one summary part."""
    return {"id": ids.new("reasoning"), "type": "reasoning", "summary": [{"type": "summary_text", "text": summary}]}


def message_item(
    text: str, ids: Ids, *, status: str = "completed", annotations: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An assistant message output item with one ``output_text`` part."""
    return {
        "id": ids.new("message"),
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": annotations or [], "logprobs": []}],
    }


def usage(
    input_tokens: int,
    text_tokens: int,
    reasoning_tokens: int,
    behaviour: Behaviour,
    *,
    tool_calls: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Usage that adds up: output includes reasoning, total is input plus output.

    ``tool_calls`` (built-in tool calls by tool) become ``x_tools`` where the profile reports them (the gateway).
    """
    output_tokens = text_tokens + reasoning_tokens
    result: dict[str, Any] = {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
        "total_tokens": input_tokens + output_tokens,
    }
    if "x_details" in behaviour.usage_extensions:
        result["x_details"] = [
            {
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                "total_tokens": input_tokens + output_tokens,
                "x_billing_type": "response_api",
            }
        ]
    if tool_calls and "x_tools" in behaviour.usage_extensions:
        result["x_tools"] = builtin.x_tools(tool_calls)
    return result


def echoed_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """A tool as the reply echoes it: function tools always carry ``parameters`` and ``strict`` (null when not sent)."""
    if tool.get("type") != "function":
        return tool
    return {"parameters": None, "strict": None, **tool}


def response_envelope(
    request: dict[str, Any], behaviour: Behaviour, response_id: str, created_at: int
) -> dict[str, Any]:
    """Everything but output and usage: ids, timestamps and the request's settings echoed.

    A setting the request left out (or sent as null) is echoed with its
    default from ``schemas/endpoints.json`` (``response_echo``).
    """
    reasoning = request.get("reasoning") or {}
    envelope: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "model": request["model"],
        "output": [],
    }
    for name, default in _ECHO_DEFAULTS.items():
        value = request.get(name)
        envelope[name] = value if value is not None else _fresh(default)
    envelope.update(
        # the gateway answers background: true synchronously and says so (profiles.json fields.background)
        background=behaviour.runs_in_background and bool(envelope["background"]),
        parallel_tool_calls=envelope["parallel_tool_calls"] is not False,
        store=envelope["store"] is not False,
        reasoning={"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        tools=[echoed_tool(tool) for tool in request.get("tools") or []],
    )
    return envelope


_ECHO_DEFAULTS = response_echo_defaults()


def _fresh(default: Any) -> Any:
    """A default the reply may own: a copy of a dict or list (``metadata``, ``text``), a scalar as it is.

    Most defaults are scalars; copying only the containers keeps each reply's
    objects its own without a deep copy per field on every create.
    """
    return _json_copy(default) if isinstance(default, (dict, list)) else default


def _json_copy(value: Any) -> Any:
    """A copy of a JSON value (dicts, lists, scalars): ``copy.deepcopy`` without its memo, about three times cheaper."""
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    return value
