"""Replies that read like replies: sentences about the question's subject, in its language, using the conversation.

A few seeded replies are pinned word for word (a change to the phrase banks
shows up here, on purpose); the rest checks what holds for any seed: the
subject taken up as a phrase, the language, a follow-up that quotes or
answers from an earlier turn, the same text streamed and plain.
"""

from __future__ import annotations

import random
import re

import pytest

from mockserver import create_app
from mockserver.reply.text import reply_text
from mockserver.reply.topic import read_question
from schemas.stream import parse_sse

AUTH = {"Authorization": "sk-replies"}


def answer(client, text, **body) -> dict:
    reply = client.post("/v1/responses", json={"model": "qwen-plus", "input": text, **body}, headers=AUTH)
    assert reply.status_code == 200
    return reply.get_json()


def text_of(body: dict) -> str:
    return body["output"][-1]["content"][0]["text"]


@pytest.fixture
def client():
    return create_app(seed=7, profile="openai", log_requests=False).test_client()


PINNED = {
    "How do tides work?": (
        "How tides work comes down to a few simple ideas. A simple way to see it is to compare it with something "
        "familiar. Most of the confusion usually comes from a few edge cases. Let me know if you have any other "
        "questions."
    ),
    "Write a haiku about the sea": (
        "Here is a haiku about the sea:\n\nThe sea at first light,\nthe wind carries a soft sound —\nthe sea keeps "
        "its peace.\n\nLet me know if you have any other questions."
    ),
    "为什么天空是蓝色的？": (
        "为什么天空是蓝色的，主要有几方面的原因。一个简单的办法是把它和熟悉的事物做个比较。很多困惑其实来自少数几个特殊"
        "情况。如果还有其他问题，随时告诉我。"
    ),
    "Can I learn Rust in a month?": (
        "Whether you can learn Rust in a month depends on a few things. Most of the confusion usually comes from a "
        "few edge cases. It helps to start with the basic idea and then look at an example. I hope this helps!"
    ),
}


@pytest.mark.parametrize("question", list(PINNED))
def test_seeded_replies_are_pinned(client, question):
    assert text_of(answer(client, question)) == PINNED[question]


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("How do tides work?", "how tides work"),
        ("What is the capital of France?", "the capital of France"),
        ("Why does ice float on water?", "why ice floats on water"),
        ("Why is the sky blue?", "why the sky is blue"),
        ("Is Python good for beginners?", "whether Python is good for beginners"),
        ("Does tea have caffeine?", "whether tea has caffeine"),
        ("Please write an email to my boss asking for Friday off", "an email to your boss asking for Friday off"),
        ("Tell me about the Roman empire.", "the Roman empire"),
        ("如何学习Python？", "如何学习Python"),
        ("什么是量子计算？", "量子计算"),
        ("请写一首关于大海的诗", "一首关于大海的诗"),
    ],
)
def test_the_reply_takes_up_the_subject_as_a_phrase(client, question, phrase):
    assert read_question(question).phrase == phrase
    for seed in range(5):
        assert phrase.lower() in reply_text(question, random.Random(seed)).lower()


@pytest.mark.parametrize("seed", range(8))
def test_english_questions_get_english_sentences_and_no_stitched_keywords(seed):
    text = reply_text("Write haiku sea", random.Random(seed))
    assert not re.search(r"[\u3400-\u9fff]", text)
    assert "About Write" not in text and "About " not in text[:6]
    for sentence in re.split(r"(?<=[.!?])\s+", text.replace("\n", " ")):
        assert sentence[:1].isupper() or sentence[:1] in '"(', sentence


@pytest.mark.parametrize("seed", range(8))
def test_chinese_questions_get_chinese_replies(seed):
    text = reply_text("介绍一下杭州", random.Random(seed))
    assert "杭州" in text and not re.search(r"[A-Za-z]{3,}", text)


def test_a_follow_up_quotes_the_earlier_message(client):
    first = answer(client, "Tell me about the moon.")
    follow = answer(client, "How far away is it?", previous_response_id=first["id"])
    assert '"Tell me about the moon."' in text_of(follow)


def test_a_follow_up_answers_from_what_the_user_said_before(client):
    first = answer(client, "My name is Ada. Please remember it.")
    assert "Ada" in text_of(first)
    follow = answer(client, "What is my name?", previous_response_id=first["id"])
    assert "Your name is Ada" in text_of(follow) or "your name is Ada" in text_of(follow)
    chinese = answer(client, "我叫小明。")
    again = answer(client, "我叫什么名字？", previous_response_id=chinese["id"])
    assert "小明" in text_of(again)


def test_the_same_request_and_seed_read_the_same_streamed_or_not(client):
    plain = text_of(answer(client, "Why is the sky blue?"))
    raw = client.post(
        "/v1/responses", json={"model": "qwen-plus", "input": "Why is the sky blue?", "stream": True}, headers=AUTH
    ).get_data(as_text=True)
    final = [e.json for e in parse_sse(raw).events][-1]["response"]
    assert text_of(final) == plain
    other = create_app(seed=8, profile="openai", log_requests=False).test_client()
    assert text_of(answer(other, "Why is the sky blue?")) != plain


def test_a_tool_result_is_taken_up_in_a_sentence(client):
    body = answer(
        client,
        [
            {"role": "user", "content": "What's the weather in Paris?"},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18°C and sunny"},
        ],
    )
    assert "18°C and sunny" in text_of(body) and text_of(body)[0].isupper()
