"""The proxy: the last source with ``--proxy-to URL``, which answers every create request from the real gateway.

It takes the generator's place (README, "The mock as a validating,
recording proxy"): your own sources, the scenarios and the recordings are
asked first, and the faults asked for apply first (``routes.py``), so a team
can override one answer or put a 429 in front of the real gateway. What the
upstream answers goes back unchanged: status, the headers that matter
(everything but the hop-by-hop ones) and the body's bytes.

- A plain reply is read whole, recorded and judged (``upstream/tap.py``),
  then sent as a ``CannedReply``. With ``--fail-on-violation`` a reply that
  breaks the contract is answered instead with a 502 in the profile's
  envelope naming the rule (``contract_violation``).
- A stream is relayed event by event as the upstream sends each one
  (``RelayedStream``): never buffered to the end, however long it runs; a
  client that leaves closes the upstream stream. It is judged when its
  terminal event arrives, before that event is passed on: with
  ``--fail-on-violation`` a violation replaces the terminal event with an
  ``error`` event naming the rule (the status line and the earlier events
  are already on the wire), so the openai SDK raises instead of returning
  the reply. The upstream's own bytes are recorded either way.
- An upstream that cannot be reached, or stays silent past ``--proxy-timeout``,
  is the profile's 502 or 504 (``upstream/client.py``); one that breaks off
  mid-stream ends the client's stream with an ``error`` event saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from schemas import events as event_types
from schemas.findings import Finding
from schemas.recording import BLOCK_END, Capture, block_type, is_event, split_blocks
from schemas.stream import TERMINAL

from ..delivery.sse import encode_event
from ..failures import ApiError
from ..reply import CannedReply, RelayedStream
from ..upstream.client import Upstream, read_body, reply_headers
from ..upstream.tap import CREATE_PATH, Tap, exchange_name, first_violation, violation_detail
from . import CreateRequest, Source

if TYPE_CHECKING:  # imported where a relay reads the upstream (upstream/client.py says why)
    import httpx

log = logging.getLogger("mockserver")

#: The ``code`` of the ``error`` event that ends a relayed stream which broke the contract (``--fail-on-violation``).
VIOLATION_CODE = "contract_violation"
#: The ``code`` of the ``error`` event that ends a relayed stream the upstream broke off.
BROKEN_OFF_CODE = "upstream_error"


class ProxySource(Source):
    """Answers every create request by forwarding it to ``upstream``; ``tap`` records and judges each exchange."""

    def __init__(self, upstream: Upstream, tap: Tap, *, fail_on_violation: bool = False, request_id_header: str = ""):
        self.upstream = upstream
        self.tap = tap
        #: A reply that breaks the contract is a 502 naming the rule (a stream: an ``error`` event).
        self.fail_on_violation = fail_on_violation
        #: The upstream's request id header, kept with each verdict.
        self.request_id_header = request_id_header

    def reset(self) -> None:
        """Forget the verdicts counted so far (``POST /__mock__/reset``)."""
        self.tap.verdicts.reset()

    def answer(self, request: CreateRequest) -> CannedReply | RelayedStream:
        """The upstream's reply: never None, so it goes last."""
        headers = list(request.headers)
        self.tap.learn(_caller_key(headers))
        name = exchange_name("POST", CREATE_PATH, request.body, request.streamed)
        capture = self.tap.begin("POST", CREATE_PATH, self.upstream.request_headers(headers), request.raw, name)
        response = self.upstream.open("POST", CREATE_PATH, b"", headers, request.raw)  # its clock runs from here
        if capture is not None:
            capture.answered(response.status_code, response.headers.multi_items())
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            relay = Relay(self, request.body, response, capture)
            return RelayedStream(response.status_code, reply_headers(response), relay.blocks(), close=relay.close)
        body = read_body(response)
        if capture is not None:
            capture.add(body)
            capture.complete = True
        self.tap.finish(capture)
        found = self.tap.judge(
            "POST", CREATE_PATH, request.body, response.status_code, body=body, request_id=self.request_id(response)
        )
        violation = first_violation(found)
        if violation is not None and self.fail_on_violation:
            raise ApiError("contract_violation", param=violation.rule, detail=violation_detail(violation))
        return CannedReply(response.status_code, reply_headers(response), body=body)

    def request_id(self, response: httpx.Response) -> str:
        """The upstream's id for this exchange (its request id header), for the verdict."""
        return response.headers.get(self.request_id_header, "") if self.request_id_header else ""


class Relay:
    """One upstream stream passed on block by block: recorded as it arrives, judged at its terminal event."""

    def __init__(
        self,
        source: ProxySource,
        request: dict[str, Any],
        response: httpx.Response,
        capture: Capture | None,
        *,
        method: str = "POST",
        path: str = CREATE_PATH,
    ):
        self.source, self.request, self.response, self.capture = source, request, response, capture
        self.method, self.path = method, path
        self._text = bytearray()
        self._events = 0
        self._judged_at = -1
        self._ended = False
        self._closed = False

    def blocks(self) -> Iterator[bytes]:
        """The stream's event blocks as each completes (a cut-off tail as it is); when the stream must fail, the
        verdict's ``error`` event in place of its terminal event."""
        import httpx

        pending = b""
        try:
            for chunk in self.response.iter_raw():
                if self.capture is not None:
                    self.capture.add(chunk)
                pending += chunk
                ends = list(BLOCK_END.finditer(pending))
                if not ends:
                    continue
                complete, pending = pending[: ends[-1].end()], pending[ends[-1].end() :]
                for block in split_blocks(complete):
                    failure = self._take(block)
                    if failure is not None:
                        self._ended = True
                        yield failure
                        self._drain()
                        return
                    yield block
            if pending:
                self._text.extend(pending)
                yield pending
            self._ended = True
            if self.capture is not None:
                self.capture.complete = True
            if self._judged_at != len(self._text):  # no terminal event, or more after it
                self._judge()
        except httpx.HTTPError as exc:
            self._ended = True
            log.warning("proxy: the upstream stream broke off after %d events: %s", self._events, type(exc).__name__)
            yield self._error_event(BROKEN_OFF_CODE, f"the upstream stream broke off ({type(exc).__name__})")
        finally:
            self.close()

    def _take(self, block: bytes) -> bytes | None:
        """Take one block in; the ``error`` event to send instead when it ends a stream that must fail."""
        self._text.extend(block)
        if block_type(block) in TERMINAL:
            violation = first_violation(self._judge())
            if violation is not None and self.source.fail_on_violation:
                return self._error_event(VIOLATION_CODE, violation_detail(violation), violation.rule)
        self._events += is_event(block)
        return None

    def _judge(self) -> list[Finding]:
        self._judged_at = len(self._text)
        return self.source.tap.judge(
            self.method,
            self.path,
            self.request,
            self.response.status_code,
            stream=self._text.decode("utf-8", "replace"),
            request_id=self.source.request_id(self.response),
        )

    def _error_event(self, code: str, message: str, rule: str | None = None) -> bytes:
        """The Responses API's ``error`` event, carrying an ``error`` object too, which the openai SDK raises as an
        ``APIError``."""
        error = {"type": code, "code": code, "message": message, "param": rule}
        return encode_event({"type": event_types.ERROR, "sequence_number": self._events, **error, "error": error})

    def _drain(self) -> None:
        """Read the rest of the upstream's stream into the recording (the client has its ``error`` event)."""
        import httpx

        try:
            for chunk in self.response.iter_raw():
                if self.capture is not None:
                    self.capture.add(chunk)
        except httpx.HTTPError:
            return
        if self.capture is not None:
            self.capture.complete = True

    def close(self) -> None:
        """Close the upstream stream and write the recording: at the end, or when the client left early."""
        if self._closed:
            return
        self._closed = True
        if not self._ended:
            log.info("proxy: the client left after %d events; the upstream stream is closed", self._events)
        try:
            self.response.close()
        finally:
            self.source.tap.finish(self.capture)


def _caller_key(headers: list[tuple[str, str]]) -> str | None:
    return next((value for name, value in headers if name.lower() == "authorization"), None)
