"""The contract as data: JSON Schemas of ``POST /v1/responses`` and their tooling.

Two profiles share names: ``gateway`` (what the documented gateway
guarantees; the default) and ``openai`` (the official shape, derived from the
OpenAI spec). The mock server and the contract suite both ask this package
rather than restating field names, enums or event order.
"""

from .loader import (
    BASE_URI,
    DEFAULT_PROFILE,
    PROFILES,
    SCHEMA_ROOT,
    UnknownSchema,
    bundle,
    load,
    registry,
    schema_names,
    schema_path,
)
from .validation import Violation, is_valid, pointer_to_param, to_pointer, validate, validator_for

__all__ = [
    "BASE_URI",
    "DEFAULT_PROFILE",
    "PROFILES",
    "SCHEMA_ROOT",
    "UnknownSchema",
    "Violation",
    "bundle",
    "is_valid",
    "load",
    "pointer_to_param",
    "registry",
    "schema_names",
    "schema_path",
    "to_pointer",
    "validate",
    "validator_for",
]
