"""HTTP edge guards every FastAPI service of the suite shares (policy service, intent rApp).

* :class:`BodySizeLimit`: ASGI middleware answering 413 ``application/problem+json`` when a request body is above
  the configured limit (declared Content-Length or the streamed bytes), before the app reads it.
* :class:`FiniteJsonRoute`: an ``APIRoute`` that refuses a JSON body holding a number that is not a finite double
  or an I-JSON-safe integer (``NaN``, ``Infinity``, ``1e400``, ``10**400``; :mod:`nextric.finite`) with a
  ``RequestValidationError`` whose location names the field, so the app's own handler answers 400
  problem+json before any route, store or audit sees the body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nextric.finite import find_bad_number

PROBLEM_JSON = "application/problem+json"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def problem_response(status: int, title: str, detail: str | None, instance: str | None) -> JSONResponse:
    """RFC 9457 problem details (``type`` about:blank), the shape both services answer with."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail is not None:
        body["detail"] = detail
    if instance is not None:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


class BodySizeLimit:
    """Answer 413 when Content-Length (or the streamed body) exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self, scope: Scope) -> JSONResponse:
        return problem_response(413, "Payload Too Large", f"body exceeds {self.max_bytes} bytes", scope.get("path"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._too_large(scope)(scope, receive, send)
                    return
        body = bytearray()
        more = True
        while more:  # buffer the (small) body so an oversized stream is refused before the app sees it
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, receive, send)  # client went away: let the app see the disconnect
                return
            body.extend(message.get("body", b""))
            more = bool(message.get("more_body", False))
            if len(body) > self.max_bytes:
                await self._too_large(scope)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def non_finite_error(body: bytes) -> RequestValidationError | None:
    """The validation error for a JSON ``body`` holding a number that may not be stored (None: fine, or not
    JSON at all: FastAPI answers that itself)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = find_bad_number(parsed)
    if found is None:
        return None
    path, why = found
    return RequestValidationError([{"type": "finite_number", "loc": ("body", *path),
                                    "msg": f"{why}; numbers must be finite", "input": None}])


class FiniteJsonRoute(APIRoute):
    """Route class (``APIRouter(route_class=FiniteJsonRoute)``) refusing non-finite numbers in JSON bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            if request.method in _BODY_METHODS:
                body = await request.body()  # cached by Starlette: the route handler reads the same bytes
                if body:
                    error = non_finite_error(body)
                    if error is not None:
                        raise error
            return await handler(request)

        return route
