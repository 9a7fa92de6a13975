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

from ..failures import ApiError
from . import instances
from .ids import Ids
from .text import last_user_text
from .topic import content_words


def function_tools(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's function tools (the built-in ``web_search`` and ``code_interpreter`` are ``builtin.py``'s)."""
    return [tool for tool in request.get("tools") or [] if tool.get("type") == "function"]


def function_calls(
    request: dict[str, Any], conversation: list[dict[str, Any]], rng: random.Random, ids: Ids
) -> list[dict[str, Any]]:
    """The ``function_call`` items of this turn (often none)."""
    tools = function_tools(request)
    choice = request.get("tool_choice", "auto")
    if not tools or choice == "none" or answers_tool_calls(conversation):
        return []
    user_text = last_user_text(conversation)
    if isinstance(choice, dict):
        chosen = [tool for tool in tools if choice.get("type") == "function" and tool["name"] == choice.get("name")]
    else:
        chosen = relevant_tools(tools, user_text)
        if choice == "required" and not chosen:
            chosen = tools[:1]
    if request.get("parallel_tool_calls", True) is False:
        chosen = chosen[:1]
    return [call_item(tool, user_text, rng, ids) for tool in chosen]


def answers_tool_calls(conversation: list[dict[str, Any]]) -> bool:
    """Whether this turn answers function calls (the conversation ends with their output)."""
    return bool(conversation) and conversation[-1].get("type") == "function_call_output"


def call_item(tool: dict[str, Any], user_text: str, rng: random.Random, ids: Ids) -> dict[str, Any]:
    """A ``function_call`` output item calling ``tool`` with generated arguments."""
    return {
        "id": ids.new("function_call"),
        "type": "function_call",
        "status": "completed",
        "call_id": ids.new("call"),
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
    asked = content_words(user_text)
    return [tool for tool in tools if asked & tool_words(tool)]


def tool_words(tool: dict[str, Any]) -> set[str]:
    """The words of a tool's name, description and parameter names."""
    name = re.sub(r"([a-z])([A-Z])", r"\1 \2", tool["name"]).replace("_", " ").replace("-", " ")
    properties = ((tool.get("parameters") or {}).get("properties") or {}).keys()
    return content_words(" ".join([name, tool.get("description") or "", *properties]))
