"""The contract suite for ``POST /v1/responses``: a pytest plugin and its test modules.

Run it with ``pytest --pyargs contract_tests`` (the mock, in-process) or
``CONTRACT_API_KEY=sk-... pytest --pyargs contract_tests --contract-base-url https://host/v1``
(a live target). Options: :mod:`contract_tests.options`; fixtures:
:mod:`contract_tests.plugin`; rules: :mod:`contract_tests.checks`.
"""
