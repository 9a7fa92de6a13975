"""What a message is about: its topic and its content words.

Shared by the text (an answer opens with the topic), the tools (a function
is relevant when it shares a word with the question) and the generated
JSON documents (a ``query`` field takes the topic).
"""

from __future__ import annotations

import re

from .tokens import has_cjk

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "to",
        "of",
        "and",
        "or",
        "in",
        "on",
        "for",
        "with",
        "what",
        "how",
        "why",
        "who",
        "when",
        "where",
        "which",
        "can",
        "could",
        "would",
        "should",
        "do",
        "does",
        "did",
        "i",
        "you",
        "me",
        "my",
        "your",
        "it",
        "this",
        "that",
        "please",
        "tell",
        "about",
    ]
)


def topic_of(text: str) -> str:
    """A short phrase naming what the user asked about."""
    text = re.sub(r"\s+", " ", text).strip()
    if has_cjk(text):
        core = re.sub(r"[？?！!。，,、：:；;\s]+$", "", text)
        core = re.sub(r"^(请问|请|帮我|能不能|可以)", "", core)
        return core[:16] or text[:16]
    words = [w for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9'-]*", text) if w.lower() not in STOPWORDS]
    return " ".join(words[:4]) or "your question"


def content_words(text: str) -> set[str]:
    """Content words (lower-case, a plural ``s`` dropped) and CJK character pairs."""
    latin = {w.lower().rstrip("s") for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", text)}
    cjk = "".join(re.findall(r"[\u3400-\u9fff]", text))
    pairs = {cjk[i : i + 2] for i in range(len(cjk) - 1)}
    return {w for w in latin if w not in STOPWORDS} | pairs
