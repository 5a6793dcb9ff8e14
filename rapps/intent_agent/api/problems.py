"""problem+json (RFC 9457) for every error of the rApp's API, unexpected ones included (500, never plain text)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from nextric.errors import ConflictError, NotFoundError, UnavailableError, ValidationError
from rapps.intent_agent.service import IdempotencyMismatch

PROBLEM_JSON = "application/problem+json"
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           413: "Payload Too Large", 422: "Unprocessable Content", 500: "Internal Server Error",
           503: "Service Unavailable"}
RETRY_AFTER_S = 5  #: what a 503 (SDL unavailable) tells the client to wait
log = logging.getLogger("rapp.intent_agent")


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


def _body(status: int, title: str, detail: str, instance: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_S)}
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail,
                         "instance": instance}, status_code=status, media_type=PROBLEM_JSON,
                        headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        return _body(exc.status, exc.title, exc.detail, request.url.path)

    @app.exception_handler(ValidationError)
    async def invalid(request: Request, exc: ValidationError) -> JSONResponse:
        if isinstance(exc, IdempotencyMismatch):
            return _body(422, _TITLES[422], str(exc), request.url.path)
        return _body(400, "Bad Request", str(exc), request.url.path)

    @app.exception_handler(UnavailableError)
    async def unavailable(request: Request, exc: UnavailableError) -> JSONResponse:
        log.warning("dependency unavailable", extra={"path": request.url.path, "error": str(exc)})
        return _body(503, _TITLES[503], f"{exc}; nothing was stored, retry later", request.url.path)

    @app.exception_handler(NotFoundError)
    async def missing(request: Request, exc: NotFoundError) -> JSONResponse:
        return _body(404, "Not Found", str(exc), request.url.path)

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return _body(409, "Conflict", str(exc), request.url.path)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = "/".join(str(x) for x in first.get("loc", ()))
        return _body(400, "Bad Request", f"{where}: {first.get('msg', 'invalid request')}", request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return _body(500, "Internal Server Error", "unexpected error", request.url.path)


def problem_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses=`` entries: these status codes answer ``application/problem+json``."""
    schema = {"type": "object", "required": ["type", "title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"}}}
    return {c: {"description": _TITLES.get(c, "Error"), "content": {PROBLEM_JSON: {"schema": schema}}} for c in codes}
