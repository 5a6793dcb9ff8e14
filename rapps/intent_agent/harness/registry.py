"""Tool registry: each tool has a JSON Schema for its input and output and a permission; calls are validated
on both sides and recorded in the trace (failures included)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonschema

from nextric.errors import ValidationError
from rapps.intent_agent.harness.trace import ToolCall, Trace

Permission = Literal["read", "plan", "act"]
ToolFn = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class PermissionDenied(Exception):
    """A tool was called without the permission it needs (e.g. ``act`` in shadow mode)."""


class ToolFailed(Exception):
    """A tool raised or answered outside its output schema."""


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    permission: Permission
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    fn: ToolFn = field(repr=False, compare=False)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "permission": self.permission,
                "inputSchema": self.input_schema, "outputSchema": self.output_schema}


def obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(required)}


class Registry:
    def __init__(self) -> None:
        self.tools: dict[str, Tool] = {}

    def register(self, tool: Tool) -> None:
        jsonschema.Draft7Validator.check_schema(tool.input_schema)
        jsonschema.Draft7Validator.check_schema(tool.output_schema)
        self.tools[tool.name] = tool

    async def call(self, name: str, args: dict[str, Any], trace: Trace, granted: frozenset[str]) -> dict[str, Any]:
        tool = self.tools.get(name)
        if tool is None:
            raise ValidationError(f"no tool {name}")
        t0, wall = time.perf_counter(), time.time()
        if tool.permission not in granted:
            trace.add(ToolCall(name, args, None, False, 0.0, wall, error=f"needs permission {tool.permission}"))
            raise PermissionDenied(f"{name} needs permission '{tool.permission}' (granted: {sorted(granted)})")
        errs = list(jsonschema.Draft7Validator(tool.input_schema).iter_errors(args))
        if errs:
            trace.add(ToolCall(name, args, None, False, 0.0, wall, error=f"input: {errs[0].message}"))
            raise ValidationError(f"{name}: input {errs[0].message}")
        try:
            out = await tool.fn(args)
            oerr = list(jsonschema.Draft7Validator(tool.output_schema).iter_errors(out))
            if oerr:
                raise ToolFailed(f"{name}: output {oerr[0].message}")
        except Exception as exc:
            trace.add(ToolCall(name, args, None, False, 1000 * (time.perf_counter() - t0), wall,
                               error=f"{type(exc).__name__}: {exc}"))
            raise ToolFailed(f"{name} failed: {exc}") from exc
        versions = dict(out.pop("_versions", {}) or {})
        cards = list(out.pop("_cards", []) or [])
        trace.add(ToolCall(name, args, out, True, 1000 * (time.perf_counter() - t0), wall, versions, cards))
        return out
