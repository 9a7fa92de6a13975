"""HTTP in and out: the app factory, the views, reading and checking requests, auth, errors, admin, OpenAPI."""
