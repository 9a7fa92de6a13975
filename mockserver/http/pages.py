"""A page of a list, as OpenAI's list endpoints answer: ``limit``, ``order``, ``after``.

A stored response's input items and a conversation's items are listed the
same way; the rules of each query (bounds, defaults) come from
``schemas/endpoints.json``.
"""

from __future__ import annotations

from typing import Any

from flask import Request

from schemas.endpoints import object_name

from ..failures import ApiError
from ..failures import printable as clip
from .request import choice_param, int_param


def page_of(
    items: list[dict[str, Any]], request: Request, rules: dict[str, dict[str, Any]], owner: str
) -> dict[str, Any]:
    """The page of ``items`` the query asks for, as ``{object: list, data, has_more, first_id, last_id}``.

    ``owner`` names what the items belong to in the error for an unknown ``after`` (``response``, ``conversation``).
    """
    limit_rule, order_rule = rules["limit"], rules["order"]
    limit = int_param(
        request, "limit", default=limit_rule["default"], low=limit_rule["minimum"], high=limit_rule["maximum"]
    )
    order = choice_param(request, "order", choices=order_rule["enum"], default=order_rule["default"])
    ordered = items if order == "asc" else list(reversed(items))
    after = request.args.get("after")
    if after:
        ids = [item.get("id") for item in ordered]
        if after not in ids:
            raise ApiError("invalid_request", param="after", detail=f"no item {clip(after)!r} in this {owner}")
        ordered = ordered[ids.index(after) + 1 :]
    page = ordered[:limit]
    return listed(page, has_more=len(ordered) > limit)


def listed(page: list[dict[str, Any]], *, has_more: bool = False) -> dict[str, Any]:
    """``page`` in OpenAI's list envelope (``object``, ``data``, ``has_more``, ``first_id``, ``last_id``)."""
    return {
        "object": object_name("list"),
        "data": page,
        "has_more": has_more,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }
