"""The contract suite for /v1/responses (a pytest plugin)."""
