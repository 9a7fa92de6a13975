"""A Flask mock of the gateway's ``/v1/responses``: ``create_app`` builds one."""

from .app import create_app
from .config import ConfigError, KeySpec, MockConfig, ModelSpec

__all__ = ["ConfigError", "KeySpec", "MockConfig", "ModelSpec", "create_app"]
