"""JSON values made to fit a JSON Schema: tool-call arguments and structured output.

A model asked for arguments to a function, or for output in a ``json_schema``
format, answers with a document that fits the schema. The mock does the same,
deterministically: every choice is drawn from the seeded ``random.Random`` it
is given, so the same request under the same seed gets the same document.

The generator walks the schema (``$ref`` to ``$defs``, ``anyOf``/``oneOf``,
``allOf``, types, enums, ranges, lengths, formats, patterns through ``rstr``)
and the result is then checked by ``jsonschema`` itself: a schema feature the
walk does not model (``not``, ``if``/``then``, ``dependentRequired``, ...) gets
a few more draws, and a schema nothing satisfies raises ``Unsatisfiable``
rather than producing a document that does not fit.
"""

from __future__ import annotations

import copy
import datetime
import math
import random
import re
import uuid
from collections.abc import Iterator
from typing import Any

import rstr
from jsonschema import Draft202012Validator

from .tokens import has_cjk
from .topic import topic_of

#: Past this nesting depth, optional properties are left out, arrays take
#: their minimum length and unions prefer a branch that does not recurse.
MAX_DEPTH = 5
#: Draws before giving up on a schema the walk cannot satisfy directly.
ATTEMPTS = 8


class Unsatisfiable(ValueError):
    """No document was found that fits the schema; the message says why."""


def generate(schema: dict[str, Any] | bool, rng: random.Random, *, prompt: str = "") -> Any:
    """A document valid under ``schema``, drawn from ``rng``.

    ``prompt`` is the user's message: free-text fields a model would fill
    from the question take from it (``query`` gets the topic, ``location``
    a place named in it), and other free text is Chinese when it is.
    """
    # The 2020-12 checker, not FormatChecker(): that one mixes in draft 3's "time" (%H:%M:%S, no zone)
    # and refuses RFC 3339 times
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    walker = _Walker(schema, rng, prompt=prompt)
    problem = "no draw fitted"
    for _ in range(ATTEMPTS):
        try:
            value = walker.value(schema, depth=0, name="")
        except RecursionError:  # a required self-reference: every document would be infinite
            raise Unsatisfiable("the schema requires itself without end: no finite document fits") from None
        error = next(iter(validator.iter_errors(value)), None)
        if error is None:
            return value
        problem = (
            f"{'/' + '/'.join(map(str, error.absolute_path)) if error.absolute_path else '(root)'}: {error.message}"
        )
    raise Unsatisfiable(f"cannot produce a document that fits the schema ({problem})")


EN_WORDS = (
    "alpha",
    "blue",
    "river",
    "summit",
    "garden",
    "signal",
    "harbor",
    "maple",
    "orbit",
    "lantern",
    "meadow",
    "pixel",
)
ZH_WORDS = ("你好", "晴天", "项目", "数据", "报告", "春天", "城市", "计划", "会议", "学习", "音乐", "旅行")
CITIES = ("Hangzhou", "Beijing", "Shanghai", "Paris", "Tokyo", "Berlin")
ZH_CITIES = ("杭州", "北京", "上海", "深圳", "成都", "广州")
PEOPLE = ("Alice", "Bob", "Carol", "Dave")
ZH_PEOPLE = ("张伟", "李娜", "王芳", "刘洋")
#: Property-name fragments that make a model copy the user's topic into the field.
TOPIC_FIELDS = ("query", "question", "topic", "search", "keyword", "prompt", "text", "q")
PLACE_FIELDS = ("city", "location", "place", "region", "country", "address")
PERSON_FIELDS = ("name", "author", "user", "person")


class _Walker:
    """One document's worth of choices over one root schema (for ``$ref``)."""

    def __init__(self, root: dict[str, Any] | bool, rng: random.Random, *, prompt: str):
        self.root = root
        self.rng = rng
        self.topic = topic_of(prompt) if prompt else ""
        self.place = place_in(prompt)
        self.chinese = has_cjk(prompt)
        self.xeger = rstr.Rstr(rng)

    # -- dispatch -------------------------------------------------------------

    def value(self, schema: Any, *, depth: int, name: str) -> Any:
        if schema is True or schema == {}:
            return self.free_text(name)
        if schema is False or not isinstance(schema, dict):
            raise Unsatisfiable("the schema 'false' admits no value")
        schema = self.resolved(schema, depth)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            if not schema["enum"]:
                raise Unsatisfiable("an empty 'enum' admits no value")
            return copy.deepcopy(self.rng.choice(schema["enum"]))
        for union in ("anyOf", "oneOf"):
            if union in schema:
                branch = self.pick_branch(schema[union], depth)
                rest = {k: v for k, v in schema.items() if k != union}
                return self.value(merged(rest, branch), depth=depth, name=name)
        if "allOf" in schema:
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            combined = rest
            for part in schema["allOf"]:
                combined = merged(combined, self.resolved(part, depth) if isinstance(part, dict) else {})
            return self.value(combined, depth=depth, name=name)
        kind = self.pick_type(schema, depth)
        return getattr(self, f"make_{kind}")(schema, depth=depth, name=name)

    def resolved(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        """``schema`` with a local ``$ref`` replaced by its target (siblings kept)."""
        hops = 0
        while "$ref" in schema:
            hops += 1
            if hops > 32:
                raise Unsatisfiable("$ref chain does not end")
            target = resolve_pointer(self.root, schema["$ref"])
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = merged(rest, target) if isinstance(target, dict) else target
            if not isinstance(schema, dict):
                return {} if schema is True else {"not": {}}
        return schema

    def pick_branch(self, branches: list[Any], depth: int) -> Any:
        """A branch of a union; deep down, one that does not recurse (null, scalars) if there is one."""
        if depth >= MAX_DEPTH:
            shallow = [b for b in branches if not mentions(b, "$ref") and not mentions(b, "properties")]
            if shallow:
                return self.rng.choice(shallow)
        return self.rng.choice(branches)

    def pick_type(self, schema: dict[str, Any], depth: int) -> str:
        declared = schema.get("type")
        if isinstance(declared, list):
            if not declared:
                raise Unsatisfiable("'type' is an empty list")
            if depth >= MAX_DEPTH and "null" in declared:
                return "null"
            options = [t for t in declared if t != "null"] or declared
            return self.rng.choice(options) if self.rng.random() > 0.1 or "null" not in declared else "null"
        if isinstance(declared, str):
            return declared
        return implied_type(schema)

    # -- one function per JSON type -------------------------------------------

    def make_object(self, schema: dict[str, Any], *, depth: int, name: str) -> dict[str, Any]:
        properties: dict[str, Any] = schema.get("properties") or {}
        required = [key for key in schema.get("required", []) if isinstance(key, str)]
        chosen = list(required)
        for key in properties:
            if key not in chosen and depth < MAX_DEPTH and self.rng.random() < 0.5:
                chosen.append(key)
        minimum = schema.get("minProperties", 0)
        for key in properties:
            if len(chosen) >= minimum:
                break
            if key not in chosen:
                chosen.append(key)
        result: dict[str, Any] = {}
        for key in chosen:
            result[key] = self.value(properties.get(key, additional_schema(schema)), depth=depth + 1, name=key)
        filler = 0
        while len(result) < minimum and schema.get("additionalProperties", True) is not False:
            filler += 1
            result[f"extra_{filler}"] = self.value(additional_schema(schema), depth=depth + 1, name="")
        return result

    def make_array(self, schema: dict[str, Any], *, depth: int, name: str) -> list[Any]:
        prefix = schema.get("prefixItems") or []
        low = max(schema.get("minItems", 0), len(prefix) if schema.get("items") is not False else 0)
        high = schema.get("maxItems", low + 3)
        if depth >= MAX_DEPTH:
            high = low
        length = self.rng.randint(low, max(low, min(high, low + 3)))
        items = schema.get("items", {})
        result: list[Any] = []
        for index in range(length):
            item_schema = prefix[index] if index < len(prefix) else items
            singular = name[:-1] if name.endswith("s") else name
            value = self.value(item_schema, depth=depth + 1, name=singular)
            if schema.get("uniqueItems"):
                for _ in range(ATTEMPTS):
                    if value not in result:
                        break
                    value = self.value(item_schema, depth=depth + 1, name=singular)
                if value in result:
                    continue  # validation decides whether the shorter array still fits
            result.append(value)
        return result

    def make_string(self, schema: dict[str, Any], *, depth: int, name: str) -> str:
        low, high = schema.get("minLength", 0), schema.get("maxLength")
        if "pattern" in schema:
            return self.from_pattern(schema["pattern"], low, high)
        text = formatted(schema.get("format"), self.rng) or self.free_text(name)
        if len(text) < low:
            text += "x" * (low - len(text))
        if high is not None and len(text) > high:
            text = text[:high]
        return text

    def make_integer(self, schema: dict[str, Any], *, depth: int, name: str) -> int:
        low, high = integer_bounds(schema)
        step = schema.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = -(-low // step), high // step
            if first > last:
                raise Unsatisfiable(f"no multiple of {step} between {low} and {high}")
            return self.rng.randint(first, last) * step
        return self.rng.randint(low, high)

    def make_number(self, schema: dict[str, Any], *, depth: int, name: str) -> float | int:
        step = schema.get("multipleOf")
        low, high = number_bounds(schema)
        if isinstance(step, int) and step > 0:
            return self.make_integer(schema, depth=depth, name=name)
        if isinstance(step, float) and step > 0:
            first, last = math.ceil(low / step), math.floor(high / step)
            if first > last:
                raise Unsatisfiable(f"no multiple of {step} between {low} and {high}")
            return round(self.rng.randint(first, last) * step, 12)
        value = round(self.rng.uniform(low, high), 2)
        return min(max(value, low), high)

    def make_boolean(self, schema: dict[str, Any], *, depth: int, name: str) -> bool:
        return self.rng.random() < 0.5

    def make_null(self, schema: dict[str, Any], *, depth: int, name: str) -> None:
        return None

    # -- text -----------------------------------------------------------------

    def free_text(self, name: str) -> str:
        """Text a model would put in a field called ``name``."""
        key = name.lower()
        if self.topic and any(part == key or key.endswith(part) for part in TOPIC_FIELDS):
            return self.topic
        if any(part in key for part in PLACE_FIELDS):
            return self.place or self.rng.choice(ZH_CITIES if self.chinese else CITIES)
        if any(key == part or key.endswith("_" + part) for part in PERSON_FIELDS):
            return self.rng.choice(ZH_PEOPLE if self.chinese else PEOPLE)
        words = ZH_WORDS if self.chinese else EN_WORDS
        joiner = "" if self.chinese else " "
        return joiner.join(self.rng.choice(words) for _ in range(self.rng.randint(1, 3)))

    def from_pattern(self, pattern: str, low: int, high: int | None) -> str:
        """A string matching ``pattern`` (``rstr``), preferring one inside the length bounds."""
        best = ""
        for _ in range(ATTEMPTS):
            try:
                text = self.xeger.xeger(pattern)
            except Exception as exc:  # rstr raises whatever sre_parse raises
                raise Unsatisfiable(f"cannot generate from pattern {pattern!r}: {exc}") from None
            if len(text) >= low and (high is None or len(text) <= high):
                return text
            best = text
        return best


def place_in(prompt: str) -> str | None:
    """A place the user named: a known city, else a capitalised word after the first."""
    for city in (*CITIES, *ZH_CITIES):
        if city in prompt:
            return city
    names = re.findall(r"(?<=\s)[A-Z][a-z]{2,}", prompt)
    return names[-1] if names else None


def merged(base: dict[str, Any], extra: Any) -> dict[str, Any]:
    """Two schemas that must both hold, as one (properties and required joined)."""
    if not isinstance(extra, dict):
        return base
    result = {**extra, **{k: v for k, v in base.items() if k not in ("properties", "required")}}
    if "properties" in base or "properties" in extra:
        result["properties"] = {**extra.get("properties", {}), **base.get("properties", {})}
    if "required" in base or "required" in extra:
        result["required"] = list(dict.fromkeys([*extra.get("required", []), *base.get("required", [])]))
    return result


def resolve_pointer(root: Any, ref: str) -> Any:
    """The target of a local ``$ref`` (``#``, ``#/$defs/x``, ``#/definitions/x``)."""
    if not ref.startswith("#"):
        raise Unsatisfiable(f"$ref {ref!r}: only references inside the schema ('#/...') are supported")
    node = root
    for raw in filter(None, ref[1:].split("/")):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise Unsatisfiable(f"$ref {ref!r} points at nothing")
    return node


def mentions(schema: Any, keyword: str) -> bool:
    """Whether ``keyword`` appears anywhere inside ``schema``."""
    return any(keyword in node for node in _dicts(schema))


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for child in value.values():
            yield from _dicts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _dicts(child)


def implied_type(schema: dict[str, Any]) -> str:
    """The type a schema without ``type`` most plausibly describes."""
    if any(k in schema for k in ("properties", "required", "additionalProperties", "minProperties")):
        return "object"
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems")):
        return "array"
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "string"


def additional_schema(schema: dict[str, Any]) -> Any:
    """The schema of an object's extra properties (``{}``: anything, when ``additionalProperties`` is true)."""
    extra = schema.get("additionalProperties", True)
    return {} if extra is True else extra


def integer_bounds(schema: dict[str, Any]) -> tuple[int, int]:
    """The smallest and largest integer ``schema`` allows (exclusive bounds and a span default included)."""
    low, high = number_bounds(schema, default_span=100)
    first, last = math.ceil(low), math.floor(high)
    if "exclusiveMinimum" in schema and first <= schema["exclusiveMinimum"]:
        first = math.floor(schema["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in schema and last >= schema["exclusiveMaximum"]:
        last = math.ceil(schema["exclusiveMaximum"]) - 1
    if first > last:
        raise Unsatisfiable(f"no integer between {low} and {high}")
    return first, last


def number_bounds(schema: dict[str, Any], default_span: float = 100.0) -> tuple[float, float]:
    """The closed range a number is drawn from (exclusive bounds nudged inward)."""
    low = schema.get("minimum")
    high = schema.get("maximum")
    if "exclusiveMinimum" in schema:
        bound = schema["exclusiveMinimum"]
        low = max(low, bound + 0.01) if low is not None else bound + 0.01
    if "exclusiveMaximum" in schema:
        bound = schema["exclusiveMaximum"]
        high = min(high, bound - 0.01) if high is not None else bound - 0.01
    if low is None and high is None:
        low, high = 0, default_span
    elif low is None:
        low = high - default_span
    elif high is None:
        high = low + default_span
    if low > high:
        raise Unsatisfiable(f"no number between {low} and {high}")
    return low, high


def formatted(name: str | None, rng: random.Random) -> str | None:
    """A string in the named ``format``, or None for free text."""
    moment = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=rng.randrange(365 * 86400))
    makers = {
        "date-time": lambda: moment.isoformat().replace("+00:00", "Z"),
        "date": lambda: moment.date().isoformat(),
        "time": lambda: moment.time().isoformat() + "Z",
        "duration": lambda: f"PT{rng.randint(1, 59)}M",
        "email": lambda: f"{rng.choice(PEOPLE).lower()}@example.com",
        "hostname": lambda: f"{rng.choice(EN_WORDS)}.example.com",
        "ipv4": lambda: ".".join(str(rng.randint(1, 254)) for _ in range(4)),
        "ipv6": lambda: ":".join(f"{rng.randrange(65536):x}" for _ in range(8)),
        "uri": lambda: f"https://example.com/{rng.choice(EN_WORDS)}",
        "uuid": lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    }
    maker = makers.get(name or "")
    return maker() if maker else None
