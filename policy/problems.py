"""The edge: the runtime's exception tree -> RFC 7807 ``application/problem+json`` with A1AP status codes."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from nextric.errors import (
    ConfigError,
    ConflictError,
    NextricError,
    NotFoundError,
    ResourceExhaustedError,
    UnavailableError,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class Unauthorized(NextricError):
    """No or unknown bearer token (401)."""


class Forbidden(NextricError):
    """The token's roles do not allow this operation (403)."""


class PayloadTooLarge(NextricError):
    """Request body above the configured limit (413)."""


class TooManyRequests(NextricError):
    """Per-token request rate exceeded (429); ``retry_after_s`` says when to retry."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProblemDetails(BaseModel):
    """RFC 7807 problem details, as A1AP uses them."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


_STATUS: tuple[tuple[type[NextricError], int, str], ...] = (
    (Unauthorized, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (PayloadTooLarge, 413, "Payload Too Large"),
    (TooManyRequests, 429, "Too Many Requests"),
    (ValidationError, 400, "Bad Request"),
    (NotFoundError, 404, "Not Found"),
    (ConflictError, 409, "Conflict"),
    (ResourceExhaustedError, 507, "Insufficient Storage"),
    (UnavailableError, 503, "Service Unavailable"),
    (ConfigError, 500, "Internal Server Error"),
)


def problem(
    status: int, title: str, detail: str | None, instance: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ProblemDetails(title=title, status=status, detail=detail, instance=instance)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def status_of(exc: NextricError) -> tuple[int, str]:
    for cls, code, title in _STATUS:
        if isinstance(exc, cls):
            return code, title
    return 500, "Internal Server Error"


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    async def on_nextric(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NextricError)
        code, title = status_of(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, Unauthorized):
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, TooManyRequests):
            headers["Retry-After"] = str(max(1, round(exc.retry_after_s + 0.5)))
        if code >= 500:
            log.warning("request failed", extra={"path": request.url.path, "error": str(exc)})
        return problem(code, title, str(exc), request.url.path, headers or None)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = [
            f"{'/'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()[:5]
        ]
        return problem(400, "Bad Request", "; ".join(parts), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return problem(
            exc.status_code, str(exc.detail), None, request.url.path, dict(exc.headers or {}) or None
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "Internal Server Error", "unexpected error", request.url.path)

    app.add_exception_handler(NextricError, on_nextric)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def problem_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses=`` entries for the given error codes (schema: ProblemDetails)."""
    titles = {code: title for _, code, title in _STATUS}
    return {
        code: {
            "model": ProblemDetails,
            "description": titles.get(code, "Error"),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
        for code in codes
    }
