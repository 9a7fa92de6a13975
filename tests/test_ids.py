"""Ids: random, in the profile's style, and never the same in two forked workers."""

from __future__ import annotations

import os
import re
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockserver.reply.ids import RANDOM, new_id, random_hex, random_uuid, uuid4_text


def test_ids_have_the_profile_style():
    assert re.fullmatch(r"resp_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", new_id("resp_"))
    assert re.fullmatch(r"resp_[0-9a-f]{50}", new_id("resp_", "hex"))
    assert random_uuid().version == 4


def test_ids_do_not_repeat_across_buffer_refills():
    count = 3 * RANDOM.size // 16 + 7  # past several refills of the buffer
    ids = {random_hex(16) for _ in range(count)}
    assert len(ids) == count


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system")
def test_a_forked_worker_draws_bytes_of_its_own():
    """The parent has bytes left in its buffer when it forks; the child must not hand out the same ones."""
    random_hex(16)  # the buffer is filled and partly left
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: write its next id and leave at once
        try:
            os.write(write_end, random_hex(16).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert child and child != random_hex(16)


@given(st.binary(min_size=16, max_size=16))
def test_uuid4_text_is_what_uuid_writes(raw):
    assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))
