"""Settings of the E2 server base and client (pydantic models, passed in; apps embed them in their own
environment-driven settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator

from nextric.e2.auth import GrpcTokenGrant
from nextric.settings import TokenFileMixin


class E2ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535, description="0 = let the kernel choose (the bound port is reported)")
    max_receive_message_bytes: int = Field(1 << 20, ge=1024, description="largest request accepted")
    max_send_message_bytes: int = Field(16 << 20, ge=1024, description="largest indication sent")
    outbox_depth: int = Field(128, ge=1, description="indications queued per stream before the oldest drop (with "
                              "replay_depth, what a stalled stream can pin in memory until it is cut off)")
    replay_depth: int = Field(64, ge=0, description="indications kept per subscription for resume (a KPM stream at a "
                              "1 s period: a minute, twice detach_ttl_s)")
    detach_ttl_s: float = Field(30.0, ge=0, description="how long a subscription outlives its broken stream")
    min_report_period_ms: int = Field(1, ge=1)
    max_report_period_ms: int = Field(3_600_000, ge=1)
    max_subscriptions: int = Field(10_000, ge=1, description="subscriptions of the whole server")
    max_subscriptions_per_client: int = Field(
        2048, ge=1, description="subscriptions one client holds: its token's name, else its peer address (IP); an "
        "xApp replica holds one to three per E2 node it serves")
    max_subscriptions_per_node: int = Field(128, ge=1, description="subscriptions on one E2 node")
    max_subscriptions_per_client_node: int = Field(
        16, ge=1, description="subscriptions one client holds on one E2 node: an xApp holds one per report style it "
        "reads (KPM, BEAM, PILOT), three replicas sharing a token nine; a client cannot take a node's share from the "
        "others")
    slow_consumer_policy: Literal["cancel", "drop_oldest"] = Field(
        "cancel", description="a stream whose outbox stays full: cancel it with RESOURCE_EXHAUSTED (counted), or only "
        "drop its oldest indications")
    slow_consumer_timeout_s: float = Field(
        10.0, gt=0, description="how long an outbox may stay full (every push finding it full) before the cancel")
    sweep_interval_s: float = Field(5.0, gt=0, description="period of the sweeper of stale (detached) subscriptions")
    reflection: bool = True
    tokens: list[GrpcTokenGrant] = Field(
        default_factory=list, description="bearer tokens and their roles (nextric/e2/auth.py); any token, here or in "
        "tokens_file, turns authentication on")
    tokens_file: Path | None = Field(None, description="JSON list of {name, token, roles}, e.g. a mounted Secret")
    tls_cert_file: Path | None = Field(None, description="PEM server certificate (chain): serve TLS instead of "
                                       "plaintext")
    tls_key_file: Path | None = Field(None, description="PEM private key of tls_cert_file")
    tls_client_ca_file: Path | None = Field(None, description="PEM CA: clients must present a certificate it "
                                            "signed (mTLS)")

    @model_validator(mode="after")
    def _tls_pair(self) -> E2ServerSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ValueError("tls_client_ca_file (mTLS) needs tls_cert_file and tls_key_file")
        return self


class E2ClientSettings(TokenFileMixin):
    target: str = Field(..., description="host:port of the E2 node server")
    ric_requestor_id: int = Field(1001, ge=0, le=65535, description="E2AP RIC requestor id of this app")
    max_receive_message_bytes: int = Field(16 << 20, ge=1024)
    max_send_message_bytes: int = Field(1 << 20, ge=1024)
    rpc_timeout_s: float = Field(5.0, gt=0, description="deadline of unary calls (discovery, control)")
    backoff_initial_s: float = Field(0.05, gt=0)
    backoff_max_s: float = Field(1.0, gt=0, description="longest wait between reconnects (with jitter: 0.5-1 s once "
                                 "saturated), so a restarted node is indicating again about 1 s after it is up "
                                 "(tests/chaos/test_testbed_restart.py); one attempt per second per stream meanwhile")
    backoff_multiplier: float = Field(2.0, ge=1.0)
    max_reconnect_attempts: int = Field(0, ge=0, description="0 = retry for ever")
    token: SecretStr | None = Field(None, description="bearer token sent with every call (the server's tokens); "
                                    "or token_file")
    tls_ca_file: Path | None = Field(None, description="PEM CA of the server's certificate: connect over TLS")
    tls_server_name: str | None = Field(None, description="name to verify in the server certificate (override)")


def own_requestor_id(e2: E2ClientSettings, requestor_id: int) -> E2ClientSettings:
    """``e2`` with the app's own RIC requestor id unless one was set explicitly. E2AP names a subscription by node
    and RIC request id (requestor id + instance): two apps sharing a requestor id number their instances alike and
    would take over each other's subscriptions to the same RAN function, so each app gets its own default."""
    if "ric_requestor_id" in e2.model_fields_set:
        return e2
    return e2.model_copy(update={"ric_requestor_id": requestor_id})
