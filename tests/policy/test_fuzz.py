"""Property-based API fuzzing: schemathesis against the served OpenAPI document of a real running service.

Bounded: a handful of examples per operation (``NEXTRIC_FUZZ_EXAMPLES``, default 25), no 5xx allowed, every
status code and response body must match the document.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from policy.app import create_app
from policy.settings import PolicySettings
from policy.storage.memory import MemoryBackend
from tests.policy.service_proc import start_service

pytestmark = pytest.mark.slow
EXAMPLES = int(os.environ.get("NEXTRIC_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, fuzz_token: str) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("fuzz")
    grants = [{"name": "fuzzer", "token": fuzz_token, "roles": ["operator", "viewer", "xapp"]}]
    svc = start_service(
        tmp, grants, backend="sqlite", sqlite_path=str(tmp / "fuzz.db"), requests_per_s="0", max_policies="100000"
    )
    try:
        yield svc.url
    finally:
        svc.stop()


def _document() -> dict[str, Any]:
    """The OpenAPI document the service serves (``test_served_document_is_the_fuzzed_one`` checks it)."""
    app = create_app(PolicySettings(backend="memory"), backend=MemoryBackend())
    return app.openapi()


# loaded at collection time: schemathesis' lazy fixture loader does not support pytest 9 yet
schema = schemathesis.openapi.from_dict(_document())


def test_served_document_is_the_fuzzed_one(served: str) -> None:
    assert httpx.get(f"{served}/openapi.json").json() == schema.raw_schema


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_no_server_errors(case: Any, served: str, fuzz_token: str) -> None:
    case.call_and_validate(
        base_url=served,
        headers={"Authorization": f"Bearer {fuzz_token}"},
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
