"""Serving the app: the WSGI server (``server.py``), worker processes (``workers.py``), the command line."""

from .server import StartupError, create_server, run_until_signal, serve

__all__ = ["StartupError", "create_server", "run_until_signal", "serve"]
