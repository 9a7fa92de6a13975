"""Streams: generated requests with ``"stream": true``, checked event by event.

The stream validator (``schemas.stream``) checks every event against the
profile's event schema and the sequence rules; on top, the final response
(from the terminal event) is checked like a plain reply, and its text must
be exactly the concatenated ``output_text`` deltas.
"""

from __future__ import annotations

from hypothesis import given

from . import strategies
from .session import ContractSession


def test_generated_requests_stream_valid_events(contract: ContractSession) -> None:
    @contract.given_settings
    @given(request=strategies.valid_requests(contract.models, contract.profile))
    def check(request: dict) -> None:
        streamed = {**request, "stream": True}
        contract.expect_stream(streamed, contract.target.create(streamed), "streamed request")

    check()


def test_documented_request_streams(contract: ContractSession) -> None:
    """The documented request, streamed: reasoning then message, deltas joining into the final text."""
    from . import examples

    request = {**examples.documented_request(), "stream": True}
    contract.expect_stream(request, contract.target.create(request), "documented request, streamed")
