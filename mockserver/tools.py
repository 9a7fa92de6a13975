"""Function calling: which functions the model calls, and with what arguments.

The decision is deterministic and explainable, so that a test can predict it:

- ``tool_choice: "none"``, or no function tools: no call.
- A turn that answers tool calls (the conversation ends with a
  ``function_call_output``): no call; the model reads the result and replies.
- ``tool_choice: {"type": "function", "name": ...}``: exactly that function.
- ``"auto"``: the functions whose name, description or parameter names share
  a word with the user's message (``weather`` in the question and in
  ``get_weather``); none share one, no call.
- ``"required"``: as ``auto``, and the first function if none is relevant.
- ``parallel_tool_calls: false`` keeps only the first of several calls.

Arguments are generated from each function's ``parameters`` schema
(``instances.generate``), so they always validate against it.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from . import generation, instances
from .errors import ApiError
from .ids import new_id
from .structured import schema_problem


def function_tools(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [tool for tool in request.get("tools") or [] if tool.get("type") == "function"]


def check_tools(request: dict[str, Any], *, enforce_strict: bool) -> None:
    """Refuse a named ``tool_choice`` that names no tool, and unusable parameter schemas.

    ``enforce_strict``: a ``strict`` tool's parameters must follow strict mode
    (the profile's ``fields.strict``).
    """
    tools = function_tools(request)
    for index, tool in enumerate(request.get("tools") or []):
        if tool.get("type") != "function" or tool.get("parameters") is None:
            continue
        problem = schema_problem(tool["parameters"], strict=enforce_strict and tool.get("strict") is True)
        if problem:
            raise ApiError(
                "invalid_function_parameters", param=f"tools[{index}].parameters", target=tool["name"], detail=problem
            )
    choice = request.get("tool_choice")
    if (
        isinstance(choice, dict)
        and choice.get("type") == "function"
        and not any(tool["name"] == choice["name"] for tool in tools)
    ):
        raise ApiError("unknown_tool_choice", detail=choice["name"])


def function_calls(
    request: dict[str, Any], conversation: list[dict[str, Any]], rng: random.Random, prefixes: dict[str, str]
) -> list[dict[str, Any]]:
    """The ``function_call`` items of this turn (often none)."""
    tools = function_tools(request)
    choice = request.get("tool_choice", "auto")
    if not tools or choice == "none" or answers_tool_calls(conversation):
        return []
    user_text = generation.last_user_text(conversation)
    if isinstance(choice, dict):
        chosen = [tool for tool in tools if choice.get("type") == "function" and tool["name"] == choice.get("name")]
    else:
        chosen = relevant_tools(tools, user_text)
        if choice == "required" and not chosen:
            chosen = tools[:1]
    if request.get("parallel_tool_calls", True) is False:
        chosen = chosen[:1]
    return [call_item(tool, user_text, rng, prefixes) for tool in chosen]


def answers_tool_calls(conversation: list[dict[str, Any]]) -> bool:
    return bool(conversation) and conversation[-1].get("type") == "function_call_output"


def call_item(tool: dict[str, Any], user_text: str, rng: random.Random, prefixes: dict[str, str]) -> dict[str, Any]:
    return {
        "id": new_id(prefixes["function_call"]),
        "type": "function_call",
        "status": "completed",
        "call_id": new_id(prefixes["call"]),
        "name": tool["name"],
        "arguments": json.dumps(arguments_for(tool, user_text, rng), ensure_ascii=False),
    }


def arguments_for(tool: dict[str, Any], user_text: str, rng: random.Random) -> Any:
    """Arguments that fit the tool's ``parameters``, drawing free text from the user's question."""
    parameters = tool.get("parameters")
    if parameters is None:
        return {}
    try:
        return instances.generate(parameters, rng, prompt=user_text)
    except instances.Unsatisfiable as exc:
        raise ApiError("invalid_function_parameters", target=tool["name"], detail=str(exc)) from None


def relevant_tools(tools: list[dict[str, Any]], user_text: str) -> list[dict[str, Any]]:
    """The tools that share a word with the user's message, in the request's order."""
    asked = words(user_text)
    return [tool for tool in tools if asked & tool_words(tool)]


def tool_words(tool: dict[str, Any]) -> set[str]:
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", tool["name"]).replace("_", " ").replace("-", " ")
    properties = ((tool.get("parameters") or {}).get("properties") or {}).keys()
    return words(" ".join([name, tool.get("description") or "", *properties]))


def words(text: str) -> set[str]:
    """Content words (lower-case, a plural ``s`` dropped) and CJK character pairs."""
    latin = {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", text)}
    cjk = "".join(re.findall(r"[\u3400-\u9fff]", text))
    pairs = {cjk[i : i + 2] for i in range(len(cjk) - 1)}
    return {w for w in latin if w not in generation.STOPWORDS} | pairs
