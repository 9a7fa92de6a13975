"""The upstream's built-in tools, run by the mock: ``web_search`` and ``code_interpreter``.

A request that offers one of these tools gets its call as an output item
before the answer, deterministically (the seed fixes the sources; the code
and its result follow from the question):

- ``web_search`` (also ``web_search_preview``): searched once for the
  question's subject, unless the turn is a greeting or answers function
  calls, or ``tool_choice`` is ``"none"``. The ``web_search_call`` item's
  action says what was searched and lists the sources it found (pages on
  ``.example`` hosts, reserved for examples: nothing real is claimed). The
  gateway's upstream always lists the sources; OpenAI only with ``include``
  ``web_search_call.action.sources``.
- ``code_interpreter``: run when the question asks for a calculation (a
  number or a word such as *calculate*, *compute*, 计算). The code computes
  an arithmetic expression of the question (evaluated here with a small
  arithmetic reader, never ``eval``), else the sum and mean of its numbers,
  else the number of its words; ``outputs`` carries the printed result (in
  the openai profile only with ``include`` ``code_interpreter_call.outputs``).

The gateway profile counts the calls in ``usage.x_tools`` (``{"web_search":
{"count": 1}}``), as the upstream documents; the answer's text then takes up
what the tools found (``text.py``).
"""

from __future__ import annotations

import ast
import hashlib
import operator
import random
import re
from dataclasses import dataclass, field
from typing import Any

from schemas.behaviour import Behaviour

from .ids import Ids
from .tokens import count_tokens, has_cjk
from .topic import is_greeting, subject_of

WEB_SEARCH_TYPES = ("web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11")
CODE_INTERPRETER_TYPES = ("code_interpreter",)
#: The ``include`` values that ask OpenAI for the sources and the outputs.
SOURCES_INCLUDE = "web_search_call.action.sources"
OUTPUTS_INCLUDE = "code_interpreter_call.outputs"

_CALCULATION_WORDS = re.compile(
    r"\b(calculate|compute|computation|sum|average|mean|multiply|divide|plot|python|code|run)\b|计算|算一下|多少|代码",
    re.IGNORECASE,
)
_EXPRESSION = re.compile(r"\(?\s*\d+(?:\.\d+)?(?:\s*[-+*/×÷^]\s*\(?\s*\d+(?:\.\d+)?\s*\)?)+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

#: Where the mock's search results live: hosts under ``.example`` (RFC 2606), so no real page is claimed.
_SITES = (
    ("encyclopedia.example", "wiki/{slug}", "{Subject} - Encyclopedia"),
    ("news.example", "{year}/{slug}", "What to know about {subject}"),
    ("guides.example", "learn/{slug}", "A practical guide to {subject}"),
    ("forum.example", "t/{slug}", "Discussion: {subject}"),
    ("research.example", "papers/{slug}", "{Subject}: an overview"),
)


@dataclass
class ToolRun:
    """What the built-in tools did this turn: their output items, what they found, and the calls to count."""

    items: list[dict[str, Any]] = field(default_factory=list)
    query: str | None = None
    sources: list[dict[str, str]] = field(default_factory=list)
    result: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        """The output tokens the model spent on the calls (the code it wrote)."""
        return sum(count_tokens(item.get("code") or "") for item in self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


def offered(request: dict[str, Any], types: tuple[str, ...]) -> bool:
    """Whether the request offers a built-in tool of one of these ``types`` and lets the model use it."""
    choice = request.get("tool_choice")
    if choice == "none":
        return False
    return any(isinstance(tool, dict) and tool.get("type") in types for tool in request.get("tools") or [])


def run(
    request: dict[str, Any], user_text: str, rng: random.Random, ids: Ids, behaviour: Behaviour, *, answering: bool
) -> ToolRun:
    """The built-in tool calls of this turn (often none). ``answering``: the turn answers function calls."""
    done = ToolRun()
    if answering or not user_text.strip():
        return done
    include = set(request.get("include") or [])
    always = behaviour.profile == "gateway"  # the upstream lists sources and outputs unasked
    if offered(request, WEB_SEARCH_TYPES) and not is_greeting(user_text):
        done.query = subject_of(user_text)
        done.sources = _sources(done.query, rng)
        done.items.append(
            _search_item(done.query, done.sources, ids, with_sources=always or SOURCES_INCLUDE in include)
        )
        done.counts["web_search"] = 1
    if offered(request, CODE_INTERPRETER_TYPES) and asks_for_calculation(user_text):
        code, done.result = program_for(user_text)
        done.items.append(_code_item(code, done.result, ids, with_outputs=always or OUTPUTS_INCLUDE in include))
        done.counts["code_interpreter"] = 1
    return done


def x_tools(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """``usage.x_tools`` as the upstream writes it: each tool's calls under ``count``."""
    return {name: {"count": count} for name, count in counts.items()}


def asks_for_calculation(text: str) -> bool:
    """Whether the question asks for something a code interpreter would compute."""
    return bool(_CALCULATION_WORDS.search(text) or _EXPRESSION.search(text))


def _slug(subject: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", subject.lower())
    return "-".join(words[:6]) or "topic"


def _sources(subject: str, rng: random.Random) -> list[dict[str, str]]:
    """Three pages about ``subject`` (titles in the question's language for Chinese subjects)."""
    picked = rng.sample(_SITES, 3)
    slug = _slug(subject) if not has_cjk(subject) else "q" + hashlib.sha256(subject.encode()).hexdigest()[:8]
    year = 2020 + rng.randrange(6)
    found = []
    for host, path, title in picked:
        if has_cjk(subject):
            title = f"{subject}｜{host.split('.')[0]}"
        else:
            title = title.format(subject=subject, Subject=subject[:1].upper() + subject[1:])
        found.append({"url": f"https://{host}/{path.format(slug=slug, year=year)}", "title": title})
    return found


def _search_item(query: str, sources: list[dict[str, str]], ids: Ids, *, with_sources: bool) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "search", "query": query}
    if with_sources:
        action["sources"] = [{"type": "url", "url": source["url"]} for source in sources]
    return {"id": ids.new("web_search_call"), "type": "web_search_call", "status": "completed", "action": action}


def _code_item(code: str, result: str, ids: Ids, *, with_outputs: bool) -> dict[str, Any]:
    return {
        "id": ids.new("code_interpreter_call"),
        "type": "code_interpreter_call",
        "status": "completed",
        "container_id": ids.new("container"),
        "code": code,
        "outputs": [{"type": "logs", "logs": result + "\n"}] if with_outputs else None,
    }


def program_for(text: str) -> tuple[str, str]:
    """The code a model would write for the question, and what it prints."""
    expression = _EXPRESSION.search(text)
    if expression:
        source = expression.group(0).strip().replace("×", "*").replace("÷", "/").replace("^", "**")
        value = evaluate(source)
        if value is not None:
            return f"result = {source}\nprint(result)", _number(value)
    numbers = [float(n) for n in _NUMBER.findall(text)]
    if numbers:
        listed = ", ".join(_number(n) for n in numbers)
        total = sum(numbers)
        return (
            f"numbers = [{listed}]\nprint(sum(numbers), sum(numbers) / len(numbers))",
            f"{_number(total)} {_number(total / len(numbers))}",
        )
    words = len(text.split()) if not has_cjk(text) else len(re.findall(r"[\u3400-\u9fff]", text))
    quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return f'text = "{quoted}"\nprint(len(text.split()))', str(words)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def evaluate(source: str) -> float | None:
    """The value of an arithmetic expression (numbers, + - * / ** and parentheses), or None when it has none."""
    try:
        tree = ast.parse(source, mode="eval")
        return _value(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError):
        return None


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
            raise ValueError("too large a power")
        return _OPERATORS[type(node.op)](left, right)
    raise ValueError("not arithmetic")
