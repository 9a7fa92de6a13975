"""What a message is about: its kind of question, its subject as a phrase, its topic and content words.

``read_question`` tells what the user asked (a definition, how or why
something is, a yes-or-no question, something to write, an explanation, a
statement, a greeting) and the phrase that names its subject, ready to go
into a sentence: "How do tides work?" is about *how tides work*, "Why does
ice float?" about *why ice floats*, "Can I learn Rust in a month?" about
*whether you can learn Rust in a month*, 「为什么天空是蓝色的？」 about
「为什么天空是蓝色的」. Pronouns are turned round (*my* becomes *your*), so
the phrase reads right in the answer. ``text.py`` builds the answer around
it.

``topic_of`` and ``content_words`` are the older, keyword-level readings:
the tools (a function is relevant when it shares a word with the question)
and the generated JSON documents (a ``query`` field takes the topic) use
them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

ZH_GREETINGS = ("你好", "您好", "嗨", "早上好", "晚上好", "在吗")
EN_GREETINGS = ("hello", "hi", "hey", "good morning", "good evening", "hi there", "hello there")

#: Kinds of question (``Question.kind``); ``question`` is any other question.
GREETING, DEFINE, HOW, WHY, YES_NO, CREATE, EXPLAIN, QUESTION, STATEMENT = (
    "greeting",
    "define",
    "how",
    "why",
    "yes_no",
    "create",
    "explain",
    "question",
    "statement",
)


@dataclass(frozen=True)
class Question:
    """What a message asks: its ``kind`` and the ``phrase`` naming its subject (in the message's language)."""

    kind: str
    phrase: str
    text: str

    @property
    def chinese(self) -> bool:
        return has_cjk(self.text)


def is_greeting(text: str) -> bool:
    """Whether ``text`` is only a greeting (answered with one)."""
    lowered = text.lower().strip(" !！。.?？~")
    return lowered in EN_GREETINGS or any(lowered.startswith(g) for g in ZH_GREETINGS) and len(lowered) <= 8


def read_question(text: str) -> Question:
    """The kind of ``text`` and the phrase naming its subject."""
    text = re.sub(r"\s+", " ", text).strip()
    if is_greeting(text):
        return Question(GREETING, "", text)
    if has_cjk(text):
        kind, phrase = _read_chinese(text)
    else:
        kind, phrase = _read_english(text)
    return Question(kind, phrase, text)


def subject_of(text: str) -> str:
    """The phrase naming what ``text`` is about, for a search query or a title (no leading *how*/*whether*)."""
    question = read_question(text)
    phrase = question.phrase or text
    if not question.chinese:
        phrase = re.sub(r"^(how to |how |why |whether )", "", phrase)
    else:
        phrase = re.sub(r"^(如何|怎么|怎样|为什么)", "", phrase)
    return phrase[:80]


# --- English -------------------------------------------------------------------------------------

_SWAPS = {
    "i": "you",
    "me": "you",
    "my": "your",
    "mine": "yours",
    "myself": "yourself",
    "am": "are",
    "i'm": "you're",
    "i've": "you've",
    "i'll": "you'll",
    "you": "I",
    "your": "my",
    "yours": "mine",
    "yourself": "myself",
    "we": "you",
    "our": "your",
    "us": "you",
}
_DETERMINERS = frozenset(
    [
        "the",
        "a",
        "an",
        "my",
        "your",
        "this",
        "that",
        "these",
        "those",
        "his",
        "her",
        "its",
        "their",
        "our",
        "some",
        "any",
    ]
)
_AUXILIARIES = frozenset(
    ["is", "are", "was", "were", "can", "could", "should", "would", "will", "do", "does", "did", "may", "might", "must"]
)
_CREATE_VERBS = ("write", "compose", "draft", "create", "make", "generate", "give me", "tell me", "suggest", "list")
_EXPLAIN_VERBS = ("explain", "describe", "summarize", "summarise", "tell me about", "teach me about", "introduce")
_IRREGULAR_THIRD = {"have": "has", "do": "does", "go": "goes", "be": "is"}


def swap_pronouns(phrase: str) -> str:
    """``phrase`` as the other speaker says it: *my name* becomes *your name*, *I am* becomes *you are*."""
    words = phrase.split(" ")
    out = []
    for index, word in enumerate(words):
        core = word.rstrip(".,!?;:")
        tail = word[len(core) :]
        swapped = _SWAPS.get(core.lower())
        if swapped is None:
            out.append(word)
            continue
        if core.lower() == "you" and index > 0 and words[index - 1].lower() in ("to", "with", "for", "at", "about"):
            swapped = "me"
        out.append(swapped + tail)
    return " ".join(out)


def _clean(text: str) -> str:
    return text.strip().rstrip("?.!。？！ ").strip()


def _noun_phrase_end(words: list[str]) -> int:
    """Where the subject noun phrase at the start of ``words`` ends: a determiner and its noun, or one word."""
    if len(words) >= 2 and words[0].lower() in _DETERMINERS:
        return 2
    return 1


def _third_person(verb: str) -> str:
    lowered = verb.lower()
    if lowered in _IRREGULAR_THIRD:
        return _IRREGULAR_THIRD[lowered]
    if re.search(r"(s|sh|ch|x|z|o)$", lowered):
        return verb + "es"
    if re.search(r"[^aeiou]y$", lowered):
        return verb[:-1] + "ies"
    return verb + "s"


def _declarative(aux: str, rest: list[str]) -> str | None:
    """``is the sky blue`` as ``the sky is blue``; ``does ice float`` as ``ice floats``; None when unsure."""
    if not rest:
        return None
    end = _noun_phrase_end(rest)
    subject, after = rest[:end], rest[end:]
    aux = aux.lower()
    if aux in ("do", "did") and after:
        return " ".join(subject + after) if aux == "do" else None
    if aux == "does" and after:
        return " ".join([*subject, _third_person(after[0]), *after[1:]])
    if not after:
        return None
    return " ".join([*subject, aux, *after])


def _main_sentence(text: str) -> tuple[str, bool]:
    """The sentence that carries the request (the last question, else the first sentence) and whether it asks."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", text) if s.strip()]
    questions = [s for s in sentences if s.rstrip().endswith("?")]
    if questions:
        return _clean(questions[-1]), True
    return _clean(sentences[0] if sentences else text), False


def _read_english(text: str) -> tuple[str, str]:
    sentence, asks = _main_sentence(text)
    lowered = sentence.lower()
    words = sentence.split(" ")
    if match := re.match(r"^what(?:'s| is) ((?:new|happening|going on|next)\b.*)$", sentence, re.IGNORECASE):
        return EXPLAIN, "what is " + swap_pronouns(match.group(1))
    if match := re.match(r"^(what|who)(?:'s| is| are| was| were) (.+)$", sentence, re.IGNORECASE):
        return DEFINE, swap_pronouns(match.group(2))
    if match := re.match(r"^how (do|does|can|should|would|could|did|is|are) (.+)$", sentence, re.IGNORECASE):
        clause = _declarative(match.group(1), match.group(2).split(" "))
        if clause is not None:
            return HOW, "how " + swap_pronouns(clause)
    if match := re.match(r"^how to (.+)$", sentence, re.IGNORECASE):
        return HOW, "how to " + swap_pronouns(match.group(1))
    if match := re.match(r"^why (\w+) (.+)$", sentence, re.IGNORECASE):
        if match.group(1).lower() in _AUXILIARIES:
            clause = _declarative(match.group(1), match.group(2).split(" "))
            if clause is not None:
                return WHY, "why " + swap_pronouns(clause)
        else:
            return WHY, "why " + swap_pronouns(f"{match.group(1)} {match.group(2)}")
    if words[0].lower() in _AUXILIARIES and asks:
        clause = _declarative(words[0], words[1:])
        if clause is not None:
            return YES_NO, "whether " + swap_pronouns(clause)
    body = re.sub(r"^(please|can you|could you|would you|will you)\s+", "", lowered)
    offset = len(lowered) - len(body)
    for verbs, kind in ((_EXPLAIN_VERBS, EXPLAIN), (_CREATE_VERBS, CREATE)):
        for verb in verbs:
            if body.startswith(verb + " "):
                return kind, swap_pronouns(sentence[offset + len(verb) + 1 :].strip())
    if asks:
        return QUESTION, swap_pronouns(sentence[:1].lower() + sentence[1:])
    return STATEMENT, swap_pronouns(sentence)


# --- Chinese -------------------------------------------------------------------------------------

_ZH_POLITE = re.compile(r"^(请问|请你|请|麻烦你|麻烦|帮我|帮忙|你能不能|能不能|你可以|可以|能否)")


def _read_chinese(text: str) -> tuple[str, str]:
    sentence = re.sub(r"[？?！!。，,、：:；;\s]+$", "", text)
    sentence = _ZH_POLITE.sub("", sentence)
    if match := re.match(r"^(?:什么是|何为)(.+)$", sentence):
        return DEFINE, _zh_swap(match.group(1))
    if match := re.match(r"^(.+?)(?:是什么|是啥|指的是什么)(?:意思)?$", sentence):
        return DEFINE, _zh_swap(match.group(1))
    if match := re.match(r"^(如何|怎么|怎样|怎么样)(.+)$", sentence):
        return HOW, match.group(1) + _zh_swap(match.group(2))
    if match := re.match(r"^(为什么|为何)(.+)$", sentence):
        return WHY, "为什么" + _zh_swap(match.group(2))
    if match := re.match(r"^(写|创作|编|起草|生成|列出|给我)(.+)$", sentence):
        return CREATE, _zh_swap(match.group(2))
    if match := re.match(r"^(介绍一下|介绍|解释一下|解释|讲讲|讲一下|说说|谈谈|总结)(.+)$", sentence):
        return EXPLAIN, _zh_swap(match.group(2))
    if sentence.endswith(("吗", "么")):
        return YES_NO, _zh_swap(sentence[:-1])
    if text.rstrip().endswith(("？", "?")):
        return QUESTION, _zh_swap(sentence)
    return STATEMENT, _zh_swap(sentence)


def _zh_swap(phrase: str) -> str:
    """我 and 你 turned round, through a placeholder so that one swap does not undo the other."""
    return phrase.replace("我", "\0").replace("你", "我").replace("\0", "你")


# --- keywords ------------------------------------------------------------------------------------


def topic_of(text: str) -> str:
    """A short keyword phrase naming what the user asked about (a search ``query`` field takes it)."""
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
