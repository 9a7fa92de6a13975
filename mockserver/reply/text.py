"""Where the reply text comes from: deterministic, readable, in the user's language.

``answer_text`` decides what the assistant says when it calls no function:
a JSON document for a JSON ``text.format`` (``json_schema``: generated to
fit the schema by ``instances.py``; ``json_object``: topic and answer), a
reply that quotes a tool's result, or prose. Prose is assembled from phrase
banks by a random generator seeded from the server seed and the meaning of
the request (model, conversation, instructions, tools, format), so the same
request under the same seed reads the same, streamed or not. Chinese input
gets a Chinese reply; the reasoning summary is English, as in the documented
reply.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Any

from ..failures import ApiError
from . import instances
from .tokens import has_cjk, item_texts
from .topic import topic_of

#: Request fields that change what a model would say; the rest (stream, store,
#: metadata, ...) must not change the text.
MEANINGFUL_FIELDS = ("model", "instructions", "tools", "tool_choice", "text", "reasoning", "temperature", "top_p")


def seeded_rng(seed: int, request: dict[str, Any], conversation: list[dict[str, Any]]) -> random.Random:
    """A generator fixed by the seed and the meaningful part of the request."""
    meaning = {k: request.get(k) for k in MEANINGFUL_FIELDS}
    meaning["conversation"] = [_without_ids(item) for item in conversation]
    digest = hashlib.sha256(f"{seed}|{json.dumps(meaning, sort_keys=True, ensure_ascii=False)}".encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def _without_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "status")}


def last_user_text(conversation: list[dict[str, Any]]) -> str:
    """The text of the conversation's last user (or developer, system) message."""
    for item in reversed(conversation):
        if item.get("type", "message") == "message" and item.get("role") in ("user", "developer", "system"):
            return " ".join(t for t in item_texts(item) if t).strip()
    return ""


ZH_GREETINGS = ("你好", "您好", "嗨", "早上好", "晚上好", "在吗")
EN_GREETINGS = ("hello", "hi", "hey", "good morning", "good evening")

ZH = {
    "greeting": [
        "你好！有什么我可以帮你的吗？无论是解答问题、提供建议，还是随便聊聊，我都很乐意为你效劳。",
        "你好！很高兴见到你。今天想聊点什么，或者有什么需要我帮忙的吗？",
        "您好！我在这里，随时可以帮你解答问题、整理思路或者一起头脑风暴。",
    ],
    "opener": ["关于「{topic}」，", "你问到「{topic}」，", "说到「{topic}」，"],
    "body": [
        "可以从几个角度来看。",
        "首先要弄清楚你的具体目标和限制条件。",
        "一个常见的做法是先从最小可行的方案开始，再逐步完善。",
        "实际效果往往取决于具体的场景和数据。",
        "建议先列出关键问题，再逐一验证。",
        "如果需要，我可以给出更详细的步骤或示例。",
        "这里有一些需要注意的细节，比如边界情况和错误处理。",
        "整体来说，这是一个值得认真考虑的问题。",
    ],
    "closer": ["希望这些对你有帮助！", "如果还有其他问题，随时告诉我。", "需要我进一步展开哪一部分吗？"],
    "tool_result": "根据工具返回的结果（{result}），{body}",
}
EN = {
    "greeting": [
        "Hello! How can I help you today? I'm happy to answer questions, give suggestions, or just chat.",
        "Hi there! What would you like to talk about, or is there something I can help you with?",
        "Hello! I'm here and ready to help you think things through.",
    ],
    "opener": ["About {topic}: ", "Regarding {topic}, ", "On the question of {topic}, "],
    "body": [
        "there are a few angles worth considering.",
        "it helps to pin down the goal and the constraints first.",
        "a good approach is to start with the smallest version that works and improve it step by step.",
        "the right answer usually depends on the context and the data at hand.",
        "I would list the key questions and check them one at a time.",
        "edge cases and error handling deserve some attention here.",
        "I can give more detailed steps or an example if that would help.",
        "overall it is a question worth thinking through carefully.",
    ],
    "closer": [
        "I hope this helps!",
        "Let me know if you have any other questions.",
        "Shall I go into more detail on any part?",
    ],
    "tool_result": "Based on the tool result ({result}), {body}",
}


def is_greeting(text: str) -> bool:
    """Whether ``text`` is only a greeting (answered with one)."""
    lowered = text.lower().strip(" !！。.?？~")
    return lowered in EN_GREETINGS or any(lowered.startswith(g) for g in ZH_GREETINGS) and len(lowered) <= 8


def reply_text(user_text: str, rng: random.Random, *, tool_result: str | None = None) -> str:
    """The assistant's answer to ``user_text``."""
    bank = ZH if has_cjk(user_text) or (tool_result and has_cjk(tool_result)) else EN
    if tool_result is not None:
        joiner = "" if bank is ZH else " "
        return (
            bank["tool_result"].format(result=_clip(tool_result, 80), body=_sentences(bank, rng, 2))
            + joiner
            + bank["closer"][rng.randrange(3)]
        )
    if is_greeting(user_text):
        return rng.choice(bank["greeting"])
    opener = rng.choice(bank["opener"]).format(topic=topic_of(user_text))
    joiner = "" if bank is ZH else " "
    return opener + _sentences(bank, rng, rng.randint(2, 4)) + joiner + rng.choice(bank["closer"])


def _sentences(bank: dict[str, Any], rng: random.Random, count: int) -> str:
    picked = rng.sample(bank["body"], count)
    if bank is EN:
        return " ".join([picked[0]] + [s[0].upper() + s[1:] for s in picked[1:]])
    return "".join(picked)


def _clip(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reasoning_summary(user_text: str, reply: str, rng: random.Random) -> str:
    """An English thinking summary in the documented reply's style."""
    language = "Chinese" if has_cjk(user_text) else "English"
    intent = "Greeting/Initiating conversation" if is_greeting(user_text) else "Question or request"
    steps = [
        f"1.  **Analyze User Input:**\n   - User said: {json.dumps(_clip(user_text, 60), ensure_ascii=False)}\n"
        f"   - Language: {language}\n   - Intent: {intent}",
        f"2.  **Determine Response Strategy:**\n   - Respond in {language}\n   - "
        + rng.choice(["Keep it concise and friendly", "Be helpful and specific", "Offer further assistance"]),
        f"3.  **Draft Response:**\n   {_clip(reply, 120)}",
        "4.  **Check against Constraints:**\n   - Language correct? Yes.\n   - Tone appropriate? Yes.",
    ]
    return "Here's a thinking process:\n\n" + "\n\n".join(steps)


def text_format(request: dict[str, Any]) -> dict[str, Any]:
    """The request's ``text.format`` (plain text when it has none)."""
    return (request.get("text") or {}).get("format") or {"type": "text"}


def answer_text(request: dict[str, Any], conversation: list[dict[str, Any]], rng: random.Random) -> str:
    """What the assistant says to ``conversation`` when it calls no function: the one place a reply's text is made."""
    user_text = last_user_text(conversation)
    tool_result = last_tool_result(conversation)
    fmt = text_format(request)
    if fmt.get("type") == "json_schema":
        try:
            document = instances.generate(fmt["schema"], rng, prompt=user_text)
        except instances.Unsatisfiable as exc:
            raise ApiError("invalid_json_schema", target=fmt.get("name", ""), detail=str(exc)) from None
        return json.dumps(document, ensure_ascii=False)
    answer = reply_text(user_text, rng, tool_result=tool_result)
    if fmt.get("type") == "json_object":
        return json.dumps({"topic": topic_of(user_text), "answer": answer}, ensure_ascii=False)
    return answer


def last_tool_result(conversation: list[dict[str, Any]]) -> str | None:
    """The output of the function call this turn answers (the conversation ends with it), else None."""
    last = conversation[-1] if conversation else {}
    if last.get("type") != "function_call_output":
        return None
    output = last.get("output", "")
    return output if isinstance(output, str) else " ".join(p.get("text", "") for p in output if isinstance(p, dict))
