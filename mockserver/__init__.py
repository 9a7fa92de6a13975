"""A Flask mock of the gateway's ``/v1/responses``: ``create_app`` builds one.

The public API: ``create_app`` (keyword arguments are ``MockConfig``
fields), ``MockConfig`` and its parts, and for custom answers the ``Source``
protocol with the request it gets (``CreateRequest``) and the replies it
may give (``CannedReply``, ``ResponseReply``); ``ConnectionDropped`` is what
a reply's body raises to have the server cut the connection (``drop-after``),
for in-process clients that route to the app. README, "Architecture", maps
the rest.
"""

from .config import ConfigError, KeySpec, MockConfig, ModelSpec
from .delivery.faults import ConnectionDropped
from .http.app import create_app
from .reply import CannedReply, Reply, ResponseReply
from .sources import CreateRequest, Source

__all__ = [
    "CannedReply",
    "ConfigError",
    "ConnectionDropped",
    "CreateRequest",
    "KeySpec",
    "MockConfig",
    "ModelSpec",
    "Reply",
    "ResponseReply",
    "Source",
    "create_app",
]
