"""Configuration of the mock, validated when it is built: the settings every layer reads.

It imports nothing of the layers (``http/``, ``sources/``, ``reply/``,
``delivery/``, ``state/``, ``serve/``); fault specs are parsed by
``faultspec.py``, which imports nothing either.

Everything the command line sets is a field here, so an app made in a test
(``create_app(profile="openai", seed=3)``) and one started from the shell
behave the same. Invalid values raise ``ConfigError`` naming the field (and
the file, for values read from one).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import time
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schemas import PROFILES
from schemas.endpoints import is_served, lifecycle_routes, route_matches, served_routes, stored_routes
from schemas.recording import public_url

from .faultspec import FaultSpecError
from .faultspec import parse as parse_fault
from .faultspec import parse_all as parse_all_faults


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the field."""


@dataclass(frozen=True)
class ModelSpec:
    """A model the mock serves, and whether it reasons by default (qwen3.5/3.6-plus do)."""

    id: str
    reasons: bool = True


@dataclass(frozen=True)
class KeySpec:
    """An accepted API key, optionally limited like a new-api token.

    ``models``: the models this key may use (empty: all). ``quota``: how many
    requests it may make before it is used up (401). ``expires_at``: a Unix
    time. ``account_exhausted``: the owner's account is out of quota (403
    ``insufficient_user_quota`` at the gateway). ``project``: keys naming the
    same project see each other's stored responses, as OpenAI projects do
    (``state/owners.py``); a key without one sees only its own.
    """

    key: str
    models: tuple[str, ...] = ()
    quota: int | None = None
    expires_at: float | None = None
    account_exhausted: bool = False
    project: str | None = None

    def __repr__(self) -> str:  # keys never reach logs or reprs
        return (
            f"KeySpec(key='sk-***', models={self.models!r}, quota={self.quota!r}, "
            f"expires_at={self.expires_at!r}, account_exhausted={self.account_exhausted!r}, project={self.project!r})"
        )


@dataclass(frozen=True)
class Pacing:
    """Streaming physics: how a model's stream is timed (``--ttft``, ``--tokens-per-second``, ``--jitter``).

    ``ttft``: seconds before the first output event (after ``response.created``
    and ``response.in_progress``); ``tokens_per_second``: each delta waits its
    tokens' worth of time (0: no token pacing); ``jitter``: each wait is
    stretched or shrunk by up to this fraction, drawn from a generator seeded
    by the server seed and the stream, so two runs pace the same.
    """

    ttft: float = 0.0
    tokens_per_second: float = 0.0
    jitter: float = 0.0

    def __post_init__(self) -> None:
        for name in ("ttft", "tokens_per_second"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigError(f"{name}: must be a number of 0 or more, got {value!r}")
        if isinstance(self.jitter, bool) or not isinstance(self.jitter, (int, float)) or not 0 <= self.jitter <= 1:
            raise ConfigError(f"jitter: must be a fraction between 0 and 1, got {self.jitter!r}")

    @property
    def active(self) -> bool:
        """Whether it changes anything (a stream without physics costs no extra work)."""
        return bool(self.ttft or self.tokens_per_second)


#: How long a background response stays queued, then in progress (seconds; ``--background-pace``).
DEFAULT_BACKGROUND_PACE = (0.5, 2.0)


def parse_background_pace(text: str) -> tuple[float, float]:
    """``QUEUED,RUNNING`` seconds (``RUNNING`` may be ``hold``: in progress until cancelled), as a pair."""
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) != 2:
        raise ConfigError(f"background_pace: {text!r} is not QUEUED,RUNNING (seconds, e.g. 0.5,2 or 0,hold)")
    try:
        pace = tuple(math.inf if part == "hold" else float(part) for part in parts)
    except ValueError:
        raise ConfigError(f"background_pace: {text!r}: each part is a number of seconds or 'hold'") from None
    return pace  # type: ignore[return-value]


DEFAULT_MODELS = (
    ModelSpec("qwen3.6-plus", reasons=True),
    ModelSpec("qwen3.6-plus-2026-04-02", reasons=True),
    ModelSpec("qwen3.5-plus", reasons=True),
    ModelSpec("qwen-plus", reasons=False),
    ModelSpec("qwen-turbo", reasons=False),
)


@dataclass(frozen=True)
class MockConfig:
    """How the mock behaves. Immutable; ``with_changes`` makes a changed copy."""

    profile: str = "gateway"
    seed: int = 0
    api_keys: tuple[KeySpec, ...] = ()
    models: tuple[ModelSpec, ...] = DEFAULT_MODELS
    max_stored: int = 10_000
    max_body_bytes: int = 8 * 1024 * 1024
    max_json_depth: int = 64
    stream_delay: float = 0.0
    #: Streaming physics (``Pacing``): time to first token, tokens per second, seeded jitter.
    ttft: float = 0.0
    tokens_per_second: float = 0.0
    jitter: float = 0.0
    #: A background response's seconds queued, then in progress (``--background-pace``; ``inf``: until cancelled).
    background_pace: tuple[float, float] = DEFAULT_BACKGROUND_PACE
    ping_every: int = 0
    reasoning_stream: str = "summary"
    log_requests: bool = True
    #: Worker processes (``--workers``); more than one needs a shared store.
    workers: int = 1
    #: Where responses, key usage and the seed live (``--store``): ``memory://``,
    #: ``lmdb:///path/dir``, ``sqlite:///path.db`` or ``redis://host:port/db`` (``stores.open_store``).
    #: None: in memory with one worker, a temporary LMDB store with several.
    store_url: str | None = None
    #: A folder of scenario files (``--scenarios``): canned answers to matching requests.
    scenarios_dir: Path | None = None
    #: Faults applied to every create request (``--fault``), as ``X-Mock-Fault`` specs.
    faults: tuple[str, ...] = ()
    #: The share of create requests (0 to 1) that get ``faults`` (``--fault-rate``); the rest are served normally.
    fault_rate: float = 1.0
    #: A recording folder (``--replay``): recorded requests get the recorded replies.
    replay_dir: Path | None = None
    #: Replay pacing divided by this (``--replay-speed``): 1 as recorded, 0 at once.
    replay_speed: float = 1.0
    #: With ``replay_dir`` (``--replay-strict``): a request no recording matches is a 400, not a generated reply.
    replay_strict: bool = False
    #: Serve ``GET``/``DELETE /v1/responses/{id}`` and ``input_items`` in the gateway profile too
    #: (``--serve-stored-routes``), for apps that also talk to the upstream directly. The gateway itself
    #: answers them with its NoRoute 404; the openai profile always serves them.
    serve_stored_routes: bool = False
    #: The address the mock is bound to (``--host``). Without ``admin_key`` the admin endpoints are open on
    #: a loopback address and switched off (404) on any other (``admin_access``).
    host: str = "127.0.0.1"
    #: The key every ``/__mock__/`` route requires (``--admin-key``, env ``MOCK_ADMIN_KEY``): ``Authorization:
    #: Bearer KEY``, or HTTP Basic with the key as password. Never shown, logged or put in a repr.
    admin_key: str | None = field(default=None, repr=False)
    #: The real gateway's base URL (``--proxy-to URL``): create requests no other source answers are forwarded
    #: to it, and the other ``/v1`` routes too (``sources/proxy.py``, ``http/forward.py``).
    proxy_to: str | None = None
    #: The key the upstream gets (env ``MOCK_PROXY_API_KEY``); None: each caller's own. Never shown or logged.
    proxy_api_key: str | None = field(default=None, repr=False)
    #: Seconds the upstream may stay silent (to connect: at most 10) before the client gets a 504 (``--proxy-timeout``).
    proxy_timeout: float = 120.0
    #: With ``proxy_to``: record every proxied exchange into this folder (``--record DIR``), redacted.
    record_dir: Path | None = None
    #: With ``proxy_to``: a proxied reply that breaks the contract is a 502 naming the rule (``--fail-on-violation``).
    fail_on_violation: bool = False
    #: With ``proxy_to``: the levels proxied replies are judged at (``--levels FILE``, over ``schemas/levels.json``).
    levels_file: Path | None = None

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ConfigError(f"profile: {self.profile!r} is not one of {', '.join(PROFILES)}")
        if not self.models:
            raise ConfigError("models: at least one model must be served")
        if self.max_stored < 1:
            raise ConfigError(f"max_stored: must be at least 1, got {self.max_stored}")
        if self.max_body_bytes < 1024:
            raise ConfigError(f"max_body_bytes: must be at least 1024, got {self.max_body_bytes}")
        if self.stream_delay < 0:
            raise ConfigError(f"stream_delay: must not be negative, got {self.stream_delay}")
        if self.ping_every < 0:
            raise ConfigError(f"ping_every: must not be negative, got {self.ping_every}")
        Pacing(self.ttft, self.tokens_per_second, self.jitter)  # raises naming the field
        if len(self.background_pace) != 2 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in self.background_pace
        ):
            raise ConfigError(
                "background_pace: must be two numbers of 0 or more (seconds queued, then in progress), "
                f"got {self.background_pace!r}"
            )
        if self.reasoning_stream not in ("summary", "text"):
            raise ConfigError(f"reasoning_stream: {self.reasoning_stream!r} is not 'summary' or 'text'")
        if self.reasoning_stream == "text" and self.profile != "gateway":
            raise ConfigError(
                "reasoning_stream: 'text' (DashScope's reasoning_text events without content_index) "
                "exists only in the gateway profile"
            )
        if not 1 <= self.workers <= 64:
            raise ConfigError(f"workers: must be between 1 and 64, got {self.workers}")
        if self.workers > 1 and self.store_url in ("memory://", ""):
            raise ConfigError(
                "store_url: several workers need a shared store "
                "(lmdb:///path, sqlite:///path.db or redis://host:port/db), not memory://"
            )
        if self.store_url and not self.store_url.startswith(
            ("memory://", "sqlite://", "lmdb://", "redis://", "rediss://", "unix://")
        ):
            raise ConfigError(
                f"store_url: {self.store_url!r} is not memory://, lmdb:///path, sqlite:///path.db or redis://host:port/db"
            )
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ConfigError(f"fault_rate: must be between 0 and 1, got {self.fault_rate}")
        for index, spec in enumerate(self.faults):
            try:
                parse_fault(spec)
            except FaultSpecError as exc:
                raise ConfigError(f"faults[{index}]: {exc}") from None
        try:
            parse_all_faults(self.faults)
        except FaultSpecError as exc:
            raise ConfigError(f"faults: {exc}") from None
        if self.scenarios_dir is not None and not Path(self.scenarios_dir).is_dir():
            raise ConfigError(f"scenarios_dir: {self.scenarios_dir}: no such folder")
        if self.replay_dir is not None and not Path(self.replay_dir).is_dir():
            raise ConfigError(f"replay_dir: {self.replay_dir}: no such recording folder")
        if self.replay_strict and self.replay_dir is None:
            raise ConfigError("replay_strict: goes only with replay_dir (--replay DIR)")
        if not 0 <= self.replay_speed < float("inf"):
            raise ConfigError(f"replay_speed: must not be negative (0 replays at once), got {self.replay_speed}")
        for spec in self.api_keys:
            if not spec.key:
                raise ConfigError("api_keys: a key must not be empty")
            if spec.project is not None and (not isinstance(spec.project, str) or not spec.project.strip()):
                raise ConfigError("api_keys: a key's project must be a non-empty string")
        if self.admin_key is not None:
            _check_admin_key(self.admin_key, self.api_keys)
        _check_proxy(self)

    @property
    def pacing(self) -> Pacing:
        """The server's streaming physics (a scenario may have its own)."""
        return Pacing(self.ttft, self.tokens_per_second, self.jitter)

    @property
    def serves_stored_routes(self) -> bool:
        """Whether ``GET``/``DELETE /v1/responses/{id}`` and ``input_items`` are served (by the profile, or asked)."""
        return self.serve_stored_routes or set(stored_routes()) <= set(served_routes(self.profile))

    @functools.cached_property
    def serves_lifecycle_routes(self) -> bool:
        """Whether cancel, input token counting and the Conversations API are served (the openai profile).

        Asked on every create: worked out once (a frozen config's answer does not change)."""
        return set(lifecycle_routes()) <= set(served_routes(self.profile))

    def serves(self, method: str, path: str) -> bool:
        """Whether this mock routes ``method path`` (``/v1/...``): the profile's routes, the stored ones if asked."""
        return is_served(self.profile, method, path) or self.serves_stored_path(path, method)

    def serves_stored_path(self, path: str, method: str | None = None) -> bool:
        """Whether ``path`` is a stored-response route served by ``--serve-stored-routes`` (by ``method``, or any)."""
        return self.serve_stored_routes and any(
            route_matches(route, method or route.split(" ")[0], path) for route in stored_routes()
        )

    @property
    def admin_access(self) -> str:
        """Who may use ``/__mock__/``: ``key`` (the admin key's holder), ``open`` (anyone who reaches a loopback
        bind) or ``off`` (nobody: bound to another address without an admin key)."""
        if self.admin_key:
            return "key"
        return "open" if is_loopback(self.host) else "off"

    def model(self, model_id: str) -> ModelSpec | None:
        """The served model with this id, or None."""
        return next((m for m in self.models if m.id == model_id), None)

    def with_changes(self, **changes: Any) -> MockConfig:
        """A copy with ``changes`` (plain values are coerced as in ``build``), validated again."""
        return replace(self, **_coerce(changes))

    @classmethod
    def build(cls, **values: Any) -> MockConfig:
        """A config from plain values: keys and models may be strings or dicts."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"{', '.join(sorted(unknown))}: unknown setting(s)")
        return cls(**_coerce(values))


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only (``127.0.0.0/8``, ``::1``, ``localhost``)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # another name, or "" (every address): not known to stay on this machine


#: Shortest admin key accepted: it guards users' prompts on a shared mock.
MIN_ADMIN_KEY = 8


def _check_proxy(config: MockConfig) -> None:
    """The proxy's settings: an http(s) URL with a host; the options that only a proxy uses only with one."""
    if config.proxy_to is not None:
        parts = urlsplit(str(config.proxy_to))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"proxy_to: {public_url(config.proxy_to)!r} is not an http:// or https:// URL")
        if not 0 < config.proxy_timeout < float("inf"):
            raise ConfigError(f"proxy_timeout: must be a positive number of seconds, got {config.proxy_timeout}")
        if config.record_dir is not None and config.workers > 1:
            raise ConfigError("record_dir: one process numbers the exchanges it records; use --workers 1 to record")
        return
    for name in ("record_dir", "fail_on_violation", "levels_file", "proxy_api_key"):
        if getattr(config, name):
            raise ConfigError(f"{name}: goes only with proxy_to (--proxy-to URL)")


def _check_admin_key(key: str, api_keys: tuple[KeySpec, ...]) -> None:
    """An admin key that can be sent in a header and is not an API key; errors never echo it."""
    if not isinstance(key, str) or len(key) < MIN_ADMIN_KEY:
        raise ConfigError(f"admin_key: must be at least {MIN_ADMIN_KEY} characters")
    if not all("!" <= ch <= "~" for ch in key):
        raise ConfigError("admin_key: only printable ASCII without spaces (it is sent in an HTTP header)")
    if any(spec.key == key for spec in api_keys):
        raise ConfigError("admin_key: must differ from every API key (else every API user is an admin)")


def _coerce(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "api_keys" in values:
        values["api_keys"] = tuple(_key_spec(k) for k in values["api_keys"] or ())
    if "faults" in values:
        faults = values["faults"] or ()
        values["faults"] = (faults,) if isinstance(faults, str) else tuple(faults)  # one spec, not its characters
    for folder in ("scenarios_dir", "replay_dir", "record_dir", "levels_file"):
        if values.get(folder) is not None:
            values[folder] = Path(values[folder])
    if "models" in values:
        values["models"] = tuple(_model_spec(m) for m in values["models"])
    if isinstance(values.get("background_pace"), str):
        values["background_pace"] = parse_background_pace(values["background_pace"])
    elif values.get("background_pace") is not None:
        values["background_pace"] = tuple(values["background_pace"])
    return values


def _key_spec(value: str | dict[str, Any] | KeySpec) -> KeySpec:
    if isinstance(value, KeySpec):
        return value
    if isinstance(value, str):
        return KeySpec(value)
    try:
        return KeySpec(
            key=str(value["key"]),
            models=tuple(value.get("models", ())),
            quota=value.get("quota"),
            expires_at=value.get("expires_at"),
            account_exhausted=bool(value.get("account_exhausted", False)),
            project=value.get("project"),
        )
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"api_keys: each key is a string or an object with 'key' ({exc})") from None


def _model_spec(value: str | dict[str, Any] | ModelSpec) -> ModelSpec:
    if isinstance(value, ModelSpec):
        return value
    if isinstance(value, str):
        name, _, flag = value.partition(":")
        if flag not in ("", "reasons", "plain"):
            raise ConfigError(f"models: {value!r}: the suffix must be ':reasons' or ':plain'")
        return ModelSpec(name, reasons=flag != "plain")
    try:
        return ModelSpec(id=str(value["id"]), reasons=bool(value.get("reasons", True)))
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"models: each model is a string or an object with 'id' ({exc})") from None


#: The fields of a key object in a keys file.
KEY_FIELDS = frozenset({"key", "models", "quota", "expires_at", "account_exhausted", "project"})


def load_keys_file(path: Path) -> tuple[KeySpec, ...]:
    """Keys from a JSON file: a list of strings or of ``{"key", "models", "quota", "expires_at", "account_exhausted",
    "project"}``.

    Errors name the file and the entry; the keys themselves are never echoed.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read keys file: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: must hold a JSON list of keys")
    specs = []
    for index, entry in enumerate(data):
        unknown = sorted(set(entry) - KEY_FIELDS) if isinstance(entry, dict) else []
        if unknown:
            raise ConfigError(f"{path}: [{index}].{unknown[0]}: unknown field (known: {', '.join(sorted(KEY_FIELDS))})")
        try:
            spec = _key_spec(entry)
        except ConfigError as exc:
            raise ConfigError(f"{path}: [{index}]: {exc}") from None
        if spec.expires_at is not None and not isinstance(spec.expires_at, (int, float)):
            raise ConfigError(f"{path}: [{index}].expires_at: must be a Unix time in seconds")
        if spec.quota is not None and (not isinstance(spec.quota, int) or spec.quota < 0):
            raise ConfigError(f"{path}: [{index}].quota: must be a non-negative integer")
        if spec.project is not None and (not isinstance(spec.project, str) or not spec.project.strip()):
            raise ConfigError(f"{path}: [{index}].project: must be a non-empty string (keys naming it share responses)")
        specs.append(spec)
    return tuple(specs)


def now() -> float:
    """The current Unix time (a function, so key expiry can be tested)."""
    return time.time()
