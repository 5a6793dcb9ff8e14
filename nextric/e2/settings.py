"""Settings of the E2 server base and client (pydantic models, passed in; apps embed them in their own
environment-driven settings)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class E2ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 = let the kernel choose (the bound port is reported)")
    max_receive_message_bytes: int = Field(1 << 20, ge=1024, description="largest request accepted")
    max_send_message_bytes: int = Field(16 << 20, ge=1024, description="largest indication sent")
    outbox_depth: int = Field(1024, ge=1, description="indications queued per stream before the oldest drop")
    replay_depth: int = Field(256, ge=0, description="indications kept per subscription for resume")
    detach_ttl_s: float = Field(30.0, ge=0, description="how long a subscription outlives its broken stream")
    min_report_period_ms: int = Field(1, ge=1)
    max_report_period_ms: int = Field(3_600_000, ge=1)
    max_subscriptions: int = Field(10_000, ge=1)
    reflection: bool = True


class E2ClientSettings(BaseModel):
    target: str = Field(..., description="host:port of the E2 node server")
    ric_requestor_id: int = Field(1001, ge=0, le=65535, description="E2AP RIC requestor id of this app")
    max_receive_message_bytes: int = Field(16 << 20, ge=1024)
    max_send_message_bytes: int = Field(1 << 20, ge=1024)
    rpc_timeout_s: float = Field(5.0, gt=0, description="deadline of unary calls (discovery, control)")
    backoff_initial_s: float = Field(0.05, gt=0)
    backoff_max_s: float = Field(5.0, gt=0)
    backoff_multiplier: float = Field(2.0, ge=1.0)
    max_reconnect_attempts: int = Field(0, ge=0, description="0 = retry for ever")


def own_requestor_id(e2: E2ClientSettings, requestor_id: int) -> E2ClientSettings:
    """``e2`` with the app's own RIC requestor id unless one was set explicitly. E2AP names a subscription by node
    and RIC request id (requestor id + instance): two apps sharing a requestor id number their instances alike and
    would take over each other's subscriptions to the same RAN function, so each app gets its own default."""
    if "ric_requestor_id" in e2.model_fields_set:
        return e2
    return e2.model_copy(update={"ric_requestor_id": requestor_id})
