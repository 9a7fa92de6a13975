"""The contract as data: JSON Schemas of ``POST /v1/responses`` and their tooling.

Two profiles share names: ``gateway`` (what the real gateway can be relied
on for, derived from its documented example and real traffic; the default)
and ``openai`` (the official shape, derived from the OpenAI spec). The mock
server and the contract suite both ask this package rather than restating
field names, enums or event order.

Every check speaks in :class:`Finding` objects that carry a level
(``violation`` fails a run, ``observation`` is reported; ``schemas/levels.json``).
Plumbing (the ``referencing`` registry, ``BASE_URI``, ``to_pointer``...) stays
importable from its module (``schemas.loader``, ``schemas.validation``) and is
not part of the public names below.
"""

from .findings import KNOWN, OBSERVATION, VIOLATION, Finding
from .levels import Levels, LevelsError, default_levels, load_levels
from .loader import BASE_URI as BASE_URI  # plumbing: importable, not in __all__
from .loader import DEFAULT_PROFILE, PROFILES, SCHEMA_ROOT, UnknownSchema, bundle, load, schema_names, schema_path
from .loader import registry as registry  # plumbing: importable, not in __all__
from .secrets import SecretMasker
from .stream import validate_sse, validate_stream
from .validation import Violation, is_valid, pointer_to_param, validate, validator_for
from .validation import to_pointer as to_pointer  # plumbing: importable, not in __all__

__all__ = [
    "DEFAULT_PROFILE",
    "KNOWN",
    "OBSERVATION",
    "PROFILES",
    "SCHEMA_ROOT",
    "VIOLATION",
    "Finding",
    "Levels",
    "LevelsError",
    "SecretMasker",
    "UnknownSchema",
    "Violation",
    "bundle",
    "default_levels",
    "is_valid",
    "load",
    "load_levels",
    "pointer_to_param",
    "schema_names",
    "schema_path",
    "validate",
    "validate_sse",
    "validate_stream",
    "validator_for",
]
