"""OpenAI's own documented examples (the ``x-oaiMeta`` request and reply examples of the reference spec)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from .conftest import ROOT

SPEC = json.loads((ROOT.parent / "shared" / "reference" / "openai-responses-openapi.json").read_text(encoding="utf-8"))
#: which schema of the openai profile each documented operation's reply is
REPLY_SCHEMAS = {
    ("/responses", "post"): "response",
    ("/responses/{response_id}", "get"): "response",
    ("/responses/{response_id}/cancel", "post"): "response",
    ("/responses/{response_id}", "delete"): "deleted",
    ("/responses/{response_id}/input_items", "get"): "input_items_list",
}
_CURL_BODY = re.compile(r"-d '(\{.*\})'", re.DOTALL)


@dataclass(frozen=True)
class Example:
    name: str
    schema: str  # request, response, deleted, input_items_list, or "stream"
    value: Any  # a JSON value, or the raw text of a stream


def examples() -> list[Example]:
    found = []
    for (path, method), reply_schema in REPLY_SCHEMAS.items():
        documented = SPEC["paths"][path][method]["x-oaiMeta"]["examples"]
        for example in documented if isinstance(documented, list) else [documented]:
            name = f"{method.upper()} {path} {example.get('title') or ''}".strip()
            curl = (example.get("request") or {}).get("curl", "")
            body = _CURL_BODY.search(curl)
            if path == "/responses" and body:
                found.append(Example(f"{name} (request)", "request", json.loads(body.group(1))))
            reply = example.get("response", "")
            if reply.lstrip().startswith("event:"):
                found.append(Example(f"{name} (stream)", "stream", reply))
            else:
                found.append(Example(f"{name} (reply)", reply_schema, json.loads(reply)))
    return found
