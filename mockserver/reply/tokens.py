"""Token counting: a deterministic approximation, no tokenizer download.

A text is cut into pieces that a BPE tokenizer would roughly produce: each
CJK character is one token (Qwen's tokenizer gives about one per character),
a run of up to four letters or digits is one, each other symbol is one. The
pieces concatenate back to the text, so cutting a reply at N tokens is
cutting the piece list, and counting and truncating can never disagree.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_PIECE = re.compile(rf"[{_CJK}]|\s*[^\W{_CJK}]{{1,4}}|\s*[^\w\s]|\s+")
_CJK_CHAR = re.compile(f"[{_CJK}]")

#: What wrapping one message costs (role markers), as chat templates do.
MESSAGE_OVERHEAD = 4


def tokenize(text: str) -> list[str]:
    """The pieces of ``text``; ``"".join(tokenize(t)) == t`` always holds."""
    return _PIECE.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens ``text`` costs (``len(tokenize(text))``, remembered for short texts)."""
    if len(text) <= _CACHED_TEXT_CHARS:
        return _count_short(text)
    return len(tokenize(text))


#: Short texts (replies, summaries, prompts) recur across requests; their
#: counts are remembered (bounded: at most ~8 MB of text), long ones are not.
_CACHED_TEXT_CHARS = 2048


@functools.lru_cache(maxsize=1024)
def _count_short(text: str) -> int:
    return len(_PIECE.findall(text))


def truncate(text: str, max_tokens: int) -> str:
    """The first ``max_tokens`` tokens of ``text``."""
    return "".join(tokenize(text)[: max(max_tokens, 0)])


def has_cjk(text: str) -> bool:
    """Whether ``text`` has a Chinese, Japanese or Korean character (the reply is then in Chinese)."""
    return _CJK_CHAR.search(text) is not None


def count_input_tokens(items: list[dict[str, Any]], instructions: str | None = None) -> int:
    """Tokens of a whole conversation: every message's text plus its overhead."""
    total = count_tokens(instructions) + MESSAGE_OVERHEAD if instructions else 0
    for item in items:
        total += MESSAGE_OVERHEAD + sum(count_tokens(text) for text in item_texts(item))
    return total


def item_texts(item: dict[str, Any]) -> list[str]:
    """The texts a model would read in one input or output item."""
    kind = item.get("type", "message")
    if kind == "message":
        content = item.get("content", "")
        if isinstance(content, str):
            return [content]
        return [part.get("text") or part.get("refusal") or "" for part in content if isinstance(part, dict)]
    if kind == "function_call":
        return [item.get("name", ""), item.get("arguments", "")]
    if kind == "function_call_output":
        output = item.get("output", "")
        return [output] if isinstance(output, str) else [p.get("text", "") for p in output if isinstance(p, dict)]
    if kind == "reasoning":
        return [s.get("text", "") for s in item.get("summary", [])]
    return []
