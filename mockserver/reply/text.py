"""Where the reply text comes from: deterministic, readable, in the user's language.

``answer_text`` decides what the assistant says when it calls no function:
a JSON document for a JSON ``text.format`` (``json_schema``: generated to
fit the schema by ``instances.py``; ``json_object``: topic and answer), a
reply that takes up a tool's result, or prose.

Prose answers the question the way a reply does: ``topic.read_question``
says what kind of question it is and names its subject as a phrase, and the
answer is built from sentence templates of that kind, in English or Chinese,
with the phrase in place ("How do tides work?" gets "Here is how tides
work, step by step."; 「为什么天空是蓝色的？」 gets 「为什么天空是蓝色的，主要有
几方面的原因。」). A request to write something (a haiku, a poem, a story, an
email, a list) gets one, about what it asked for. A follow-up turn uses the
conversation: it quotes the user's earlier message, and a question about
something the user said before (their name) is answered from it. What the
built-in tools found (``builtin.py``: sources, a computed result) is taken
up in a sentence of its own.

Every choice is drawn from a random generator seeded from the server seed
and the meaning of the request (model, conversation, instructions, tools,
format), so the same request under the same seed reads the same, streamed
or not. The reasoning summary is English, as in the documented reply.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..failures import ApiError
from . import instances
from .tokens import has_cjk, item_texts
from .topic import (
    CREATE,
    DEFINE,
    EXPLAIN,
    GREETING,
    HOW,
    QUESTION,
    STATEMENT,
    WHY,
    YES_NO,
    Question,
    is_greeting,
    read_question,
    topic_of,
)

if TYPE_CHECKING:
    from .builtin import ToolRun

#: Request fields that change what a model would say; the rest (stream, store,
#: metadata, ...) must not change the text.
MEANINGFUL_FIELDS = ("model", "instructions", "tools", "tool_choice", "text", "reasoning", "temperature", "top_p")
#: ``json.dumps(..., sort_keys=True, ensure_ascii=False)`` made once (the same text, without an encoder per call).
_MEANING_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False)


def seeded_rng(seed: int, request: dict[str, Any], conversation: list[dict[str, Any]]) -> random.Random:
    """A generator fixed by the seed and the meaningful part of the request."""
    meaning = {k: request.get(k) for k in MEANINGFUL_FIELDS}
    meaning["conversation"] = [_without_ids(item) for item in conversation]
    digest = hashlib.sha256(f"{seed}|{_MEANING_ENCODER.encode(meaning)}".encode()).hexdigest()
    return random.Random(int(digest[:16], 16))


def _without_ids(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("id", "status")}


def user_texts(
    conversation: list[dict[str, Any]], roles: tuple[str, ...] = ("user", "developer", "system")
) -> list[str]:
    """The texts of the conversation's messages in ``roles`` (user, developer, system), oldest first."""
    return [
        " ".join(t for t in item_texts(item) if t).strip()
        for item in conversation
        if item.get("type", "message") == "message" and item.get("role") in roles
    ]


def last_user_text(conversation: list[dict[str, Any]]) -> str:
    """The text of the conversation's last user (or developer, system) message."""
    texts = user_texts(conversation)
    return texts[-1] if texts else ""


# --- phrase banks ----------------------------------------------------------------------------------

EN: dict[str, list[str]] = {
    "greeting": [
        "Hello! How can I help you today? I'm happy to answer questions, give suggestions, or just chat.",
        "Hi there! What would you like to talk about, or is there something I can help you with?",
        "Hello! I'm here and ready to help you think things through.",
    ],
    DEFINE: [
        "Here is what I can tell you about {p}.",
        "Here is a short answer about {p}.",
        "Let me walk you through {p}.",
    ],
    HOW: ["Here is {p}, step by step.", "Let me explain {p}.", "{P} comes down to a few simple ideas."],
    WHY: ["There are a few reasons {p}.", "Let me explain {p}.", "The short answer to {p} comes down to a few ideas."],
    YES_NO: ["{P} depends on a few things.", "Let me think about {p}.", "It is worth looking at {p} from two sides."],
    EXPLAIN: ["Here is an overview of {p}.", "Let me explain {p}.", "Here is a plain explanation of {p}."],
    QUESTION: ['Here is my answer to "{P}?"', "Let me answer your question: {p}?", "Good question: {p}?"],
    STATEMENT: ["Thanks for letting me know that {p}.", "Noted: {p}.", "I understand that {p}."],
    "body": [
        "It helps to start with the basic idea and then look at an example.",
        "The details depend on the context, so it is worth checking them for your case.",
        "A simple way to see it is to compare it with something familiar.",
        "Most of the confusion usually comes from a few edge cases.",
        "A good next step is to try it out on a small scale.",
        "The main points are well established, even where the details are still debated.",
    ],
    "closer": [
        "I hope this helps!",
        "Let me know if you have any other questions.",
        "Shall I go into more detail on any part?",
    ],
    "earlier": ['Earlier you wrote: "{quote}"', 'You told me before: "{quote}"'],
    "remembered": ["Your name is {name}, as you told me earlier.", "You told me earlier that your name is {name}."],
    "introduce": ["Nice to meet you, {name}! I will remember your name.", "Hello, {name}! Good to meet you."],
    "self": ["I am an AI assistant (a mock of one, to be exact), here to answer your questions."],
    "tool_result": ["According to the tool, the result is: {result}.", "The tool returned this result: {result}."],
    "searched": [
        'I searched the web for "{query}" and found {count} sources; "{title}" covers it well.',
        'A web search for "{query}" turned up {count} sources, among them "{title}".',
    ],
    "computed": [
        "I ran the calculation in the code interpreter, and it printed {result}.",
        "The code interpreter worked it out: the result is {result}.",
    ],
}

ZH: dict[str, list[str]] = {
    "greeting": [
        "你好！有什么我可以帮你的吗？无论是解答问题、提供建议，还是随便聊聊，我都很乐意为你效劳。",
        "你好！很高兴见到你。今天想聊点什么，或者有什么需要我帮忙的吗？",
        "您好！我在这里，随时可以帮你解答问题、整理思路或者一起头脑风暴。",
    ],
    DEFINE: [
        "关于「{p}」，我来简单说明一下。",
        "「{p}」可以从它的作用和用途两方面来理解。",
        "下面简单介绍一下「{p}」。",
    ],
    HOW: ["下面一步一步说说{p}。", "{p}，其实可以归结为几个要点。", "关于{p}，可以按下面的思路来。"],
    WHY: ["{p}，主要有几方面的原因。", "关于{p}，简单来说有几个原因。", "我来解释一下{p}。"],
    YES_NO: ["{p}吗？这要看具体情况。", "关于“{p}”这个问题，需要从两方面来看。", "{p}与否，取决于几个因素。"],
    EXPLAIN: ["下面简单介绍一下{p}。", "我来讲讲{p}。", "关于{p}，可以从几个方面来了解。"],
    QUESTION: ["关于“{p}”，可以从几个方面来看。", "你问的是“{p}”，我来回答一下。", "“{p}”这个问题，答案如下。"],
    STATEMENT: ["明白了，{p}。", "好的，我记下了：{p}。", "收到，{p}。"],
    "body": [
        "可以先从最基本的概念入手，再结合一个例子来理解。",
        "具体情况往往取决于场景，所以最好结合你的实际需求来看。",
        "一个简单的办法是把它和熟悉的事物做个比较。",
        "很多困惑其实来自少数几个特殊情况。",
        "比较好的下一步是先在小范围内试一试。",
        "主要的结论已经比较明确，只是一些细节还有讨论的空间。",
    ],
    "closer": ["希望这些对你有帮助！", "如果还有其他问题，随时告诉我。", "需要我进一步展开哪一部分吗？"],
    "earlier": ["你之前说过：“{quote}”。", "接着你之前的话（“{quote}”）来说："],
    "remembered": ["你叫{name}，这是你之前告诉我的。", "你之前告诉过我，你的名字是{name}。"],
    "introduce": ["你好，{name}！我记住你的名字了。", "很高兴认识你，{name}！"],
    "self": ["我是一个 AI 助手（准确地说，是一个模拟的助手），可以回答你的问题。"],
    "tool_result": ["根据工具返回的结果（{result}），", "工具给出的结果是：{result}。"],
    "searched": [
        "我在网上搜索了“{query}”，找到 {count} 个来源，其中「{title}」讲得比较清楚。",
        "针对“{query}”的网络搜索找到了 {count} 个来源，包括「{title}」。",
    ],
    "computed": ["我用代码解释器算了一下，结果是 {result}。", "代码解释器的计算结果是 {result}。"],
}

#: What to write for a request to write something, by the kind of thing (its word in the request).
FORMS_EN: dict[str, list[str]] = {
    "haiku": ["{About} at first light,\nthe wind carries a soft sound —\n{about} keeps its peace."],
    "poem": [
        "{About}, patient and wide,\nholds more than a glance can find;\n"
        "come back tomorrow and see\nhow much of it stays in mind."
    ],
    "story": [
        "Once upon a time, someone set out to learn everything about {about}. The first day brought more questions "
        "than answers, but by the end of the week the pieces fell into place, and {about} never looked the same again."
    ],
    "email": [
        "Subject: A quick request\n\nHello,\n\nI am writing about {about}. Could we find a moment to talk about it "
        "this week? I am happy to work around your schedule.\n\nThank you, and best regards"
    ],
    "list": ["1. Start with the basics of {about}.\n2. Look at a concrete example.\n3. Note what surprised you."],
    "fact": ["{About} has a longer history than most people expect, and it keeps turning up in unexpected places."],
    "function": ['```python\ndef solve(value):\n    """{About}."""\n    result = value\n    return result\n```'],
}
FORMS_ZH: dict[str, list[str]] = {
    "诗": ["{about}在晨光里，\n风轻轻吹过，\n一切都安静下来。"],
    "故事": ["从前，有一个人想弄明白{about}。一开始问题比答案还多，但一周之后，一切都渐渐清晰了。"],
    "邮件": ["主题：一个小请求\n\n您好：\n\n我想和您聊聊{about}。这周是否方便约个时间？\n\n谢谢！"],
    "清单": ["1. 先了解{about}的基础知识。\n2. 看一个具体的例子。\n3. 记下让你意外的地方。"],
}


def _bank(chinese: bool) -> dict[str, list[str]]:
    return ZH if chinese else EN


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- the answer ------------------------------------------------------------------------------------


def reply_text(
    user_text: str,
    rng: random.Random,
    *,
    tool_result: str | None = None,
    earlier: Sequence[str] = (),
    tools: ToolRun | None = None,
) -> str:
    """The assistant's answer to ``user_text``; ``earlier``: the user's earlier messages in this conversation."""
    question = read_question(user_text)
    chinese = question.chinese or bool(tool_result and has_cjk(tool_result))
    bank = _bank(chinese)
    join = "" if chinese else " "
    parts: list[str] = []
    if tool_result is not None:
        parts.append(rng.choice(bank["tool_result"]).format(result=_clip(tool_result, 80)))
        parts.extend(_sentences(bank, rng, 2))
        parts.append(rng.choice(bank["closer"]))
        return join.join(parts)
    if question.kind == GREETING and not earlier:
        return rng.choice(bank["greeting"])
    remembered = _remembered_name(question, earlier)
    if remembered is not None:
        parts.append(rng.choice(bank["remembered"]).format(name=remembered))
    else:
        if earlier:
            parts.append(rng.choice(bank["earlier"]).format(quote=_quoted(earlier[-1], chinese)))
        parts.extend(_answer(question, bank, rng))
    if tools:
        parts.extend(_tool_findings(tools, bank, rng))
    parts.append(rng.choice(bank["closer"]))
    return _joined(parts, join)


def _joined(parts: list[str], join: str) -> str:
    """Sentences one after the other; after a piece of writing (it has lines), a new paragraph."""
    text = parts[0]
    for part in parts[1:]:
        text += ("\n\n" if "\n" in text else join) + part
    return text.strip()


def _quoted(text: str, chinese: bool) -> str:
    """An earlier message as quoted: clipped, and ending a sentence (English)."""
    quote = _clip(text, 60)
    if chinese:
        return quote.rstrip("。！？.!?")
    return quote if quote.endswith((".", "!", "?", "…")) else quote + "."


def _answer(question: Question, bank: dict[str, list[str]], rng: random.Random) -> list[str]:
    """The opening that takes up the question's phrase, then a piece of writing or a few sentences."""
    phrase = question.phrase
    if question.kind == GREETING:
        return [rng.choice(bank["greeting"])]
    if question.kind == DEFINE and phrase.lower() in ("i", "me"):
        return [rng.choice(bank["self"]), *_sentences(bank, rng, 1)]
    introduced = _introduced_name(question.text)
    if question.kind == STATEMENT and introduced:
        return [rng.choice(bank["introduce"]).format(name=introduced)]
    if question.kind == CREATE:
        return _written(question, bank, rng)
    kind = question.kind if question.kind in bank else STATEMENT
    opener = rng.choice(bank[kind]).format(p=phrase, P=_capital(phrase))
    return [opener, *_sentences(bank, rng, rng.randint(2, 3))]


def _written(question: Question, bank: dict[str, list[str]], rng: random.Random) -> list[str]:
    """A request to write something: a line that says what follows, then the piece itself."""
    phrase = question.phrase
    about = _about(phrase, question.chinese)
    forms = FORMS_ZH if question.chinese else FORMS_EN
    form = next((name for name in forms if name in phrase.lower()), None)
    lead = f"好的，下面是{phrase}：\n\n" if question.chinese else f"Here is {phrase}:\n\n"
    if form is None:
        intro = f"好的，关于{phrase}，我的想法如下。" if question.chinese else f"Sure. Here is my take on {phrase}."
        return [intro, *_sentences(bank, rng, 2)]
    piece = rng.choice(forms[form]).format(about=about, About=_capital(about))
    return [lead + piece]


def _about(phrase: str, chinese: bool) -> str:
    """What a piece of writing is about: the words after *about*/*on* (关于...的), else the phrase."""
    if chinese:
        match = re.search(r"关于(.+?)的", phrase)
        return match.group(1) if match else phrase
    match = re.search(r"\b(?:about|on|for)\s+(.+)$", phrase)
    return match.group(1) if match else re.sub(r"^(a|an|the|some)\s+", "", phrase)


def _tool_findings(tools: ToolRun, bank: dict[str, list[str]], rng: random.Random) -> list[str]:
    found = []
    if tools.sources:
        first = tools.sources[0]
        found.append(
            rng.choice(bank["searched"]).format(query=tools.query, count=len(tools.sources), title=first["title"])
        )
    if tools.result is not None:
        found.append(rng.choice(bank["computed"]).format(result=tools.result))
    return found


_NAME_STATED = (
    re.compile(r"\bmy name is ([A-Z][\w-]*)", re.IGNORECASE),
    re.compile(r"\bcall me ([A-Z][\w-]*)", re.IGNORECASE),
    re.compile(r"(?:我叫|我的名字是)([\u3400-\u9fffA-Za-z]{1,8}?)(?:[，。！,.!]|$)"),
)


def _introduced_name(text: str) -> str | None:
    """The name the user gives in ``text`` ("My name is Ada", 我叫小明), if any."""
    for pattern in _NAME_STATED:
        match = pattern.search(text)
        if match and not re.search(r"什么|谁|啥", match.group(1)):
            return match.group(1)
    return None


def _remembered_name(question: Question, earlier: list[str]) -> str | None:
    """The user's name from an earlier message, when the question asks for it ("What is my name?", 我叫什么)."""
    asks = (question.kind == DEFINE and question.phrase.lower() == "your name") or re.search(
        r"你叫什么|你的名字", question.phrase if question.chinese else ""
    )
    if not asks:
        return None
    for text in reversed(earlier):
        name = _introduced_name(text)
        if name:
            return name
    return None


def _sentences(bank: dict[str, list[str]], rng: random.Random, count: int) -> list[str]:
    return rng.sample(bank["body"], count)


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


def answer_text(
    request: dict[str, Any], conversation: list[dict[str, Any]], rng: random.Random, tools: ToolRun | None = None
) -> str:
    """What the assistant says to ``conversation`` when it calls no function: the one place a reply's text is made."""
    said = user_texts(conversation)
    user_text = said[-1] if said else ""
    tool_result = last_tool_result(conversation)
    fmt = text_format(request)
    if fmt.get("type") == "json_schema":
        try:
            document = instances.generate(fmt["schema"], rng, prompt=user_text)
        except instances.Unsatisfiable as exc:
            raise ApiError("invalid_json_schema", target=fmt.get("name", ""), detail=str(exc)) from None
        return json.dumps(document, ensure_ascii=False)
    earlier = [text for text in user_texts(conversation, ("user",)) if text][:-1]
    answer = reply_text(user_text, rng, tool_result=tool_result, earlier=earlier, tools=tools)
    if fmt.get("type") == "json_object":
        return json.dumps({"topic": topic_of(user_text), "answer": answer}, ensure_ascii=False)
    return answer


def citations(text: str, tools: ToolRun | None) -> list[dict[str, Any]]:
    """``url_citation`` annotations for the sources a reply names (OpenAI's shape), in the order they appear."""
    found = []
    for source in tools.sources if tools else []:
        start = text.find(source["title"])
        if start >= 0:
            found.append(
                {
                    "type": "url_citation",
                    "start_index": start,
                    "end_index": start + len(source["title"]),
                    "url": source["url"],
                    "title": source["title"],
                }
            )
    return found


def last_tool_result(conversation: list[dict[str, Any]]) -> str | None:
    """The output of the function call this turn answers (the conversation ends with it), else None."""
    last = conversation[-1] if conversation else {}
    if last.get("type") != "function_call_output":
        return None
    output = last.get("output", "")
    return output if isinstance(output, str) else " ".join(p.get("text", "") for p in output if isinstance(p, dict))
