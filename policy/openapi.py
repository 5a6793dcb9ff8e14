"""The served OpenAPI document, corrected where FastAPI's defaults differ from what the service answers:
request validation errors are 400 problem+json (A1AP), not 422; ``/metrics`` is Prometheus text; the
readiness probe answers 503 until ready."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from nextric.obs.health import READY_PATH
from policy.problems import PROBLEM_JSON

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


def install_openapi(app: FastAPI) -> None:
    """Replace ``app.openapi`` with a cached, corrected generator."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path, item in doc.get("paths", {}).items():
            for op in item.values():
                responses = op.get("responses", {})
                if responses.pop("422", None) is not None or op.get("parameters") or op.get("requestBody"):
                    responses.setdefault("400", {"description": "Bad Request",
                                                 "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}}})
                if path == "/metrics":
                    responses["200"] = {"description": "Prometheus text exposition",
                                        "content": {"text/plain": {"schema": {"type": "string"}}}}
                if path == READY_PATH:
                    responses["503"] = {"description": "Not ready",
                                        "content": {"application/json": {"schema": {"type": "object"}}}}
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = doc
        return doc

    app.openapi = build  # type: ignore[method-assign]
