"""TLS on the E2 gRPC port with certificates from ``tools/certs.py`` (as the deployments use them), a real server on
127.0.0.1, port 0: a client that trusts the CA and names a Service name in the certificate gets through with its
token; a client with another CA, a name the certificate does not hold, or no TLS at all never reaches the service;
with mTLS a client without a certificate is refused too."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import grpc
import pytest
from pydantic import SecretStr

from nextric.e2.auth import GrpcTokenGrant, open_channel
from nextric.e2.client import E2Client
from nextric.e2.errors import E2Failure
from nextric.e2.server import start_e2_server
from nextric.e2.settings import E2ClientSettings, E2ServerSettings
from nextric.e2.v1 import e2ap_pb2, e2ap_pb2_grpc
from nextric.testing.e2node import ScriptedNodes
from tools import certs

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="tools/certs.py needs openssl")

TOKEN = secrets.token_urlsafe(24)
SERVICE = "nextric-testbed"  # a name tools.certs puts in the server certificate (the Helm Service name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[certs.Issued, certs.Issued]:
    """The deployment's CA and server certificate (+ a client certificate), and another, unrelated CA."""
    ours = certs.issue(tmp_path_factory.mktemp("ours"), certs.server_names(), clients=["slice-scheduler"], days=1)
    other = certs.issue(tmp_path_factory.mktemp("other"), certs.server_names(), days=1)
    return ours, other


def _client(port: int, ca: Path | None, server_name: str | None = SERVICE) -> E2ClientSettings:
    return E2ClientSettings(target=f"127.0.0.1:{port}", token=SecretStr(TOKEN), tls_ca_file=ca,
                            tls_server_name=server_name, rpc_timeout_s=1.0, backoff_max_s=0.1)


async def _list_nodes(settings: E2ClientSettings) -> grpc.StatusCode:
    try:
        async with E2Client(settings) as client:
            await client.list_nodes()
    except E2Failure as exc:
        return exc.code
    return grpc.StatusCode.OK


async def test_only_a_client_trusting_the_deployments_ca_gets_through(pki: tuple[certs.Issued, certs.Issued]) -> None:
    ours, other = pki
    grants = [GrpcTokenGrant(name="slice-scheduler", token=SecretStr(TOKEN), roles=["kpm", "control"])]
    running = await start_e2_server(ScriptedNodes(2), E2ServerSettings(
        tokens=grants, tls_cert_file=ours.server_cert, tls_key_file=ours.server_key))
    try:
        assert running.tls
        assert await _list_nodes(_client(running.port, ours.ca_cert)) == grpc.StatusCode.OK
        # the Service names of compose and Kubernetes are all in the certificate
        for name in ("testbed", "nextric-e2term", "localhost"):
            assert await _list_nodes(_client(running.port, ours.ca_cert, name)) == grpc.StatusCode.OK, name
        # another CA: the handshake fails, the call never reaches the server
        assert await _list_nodes(_client(running.port, other.ca_cert)) in {
            grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
        # the right CA, a name the certificate does not hold (a man in the middle with a certificate for another host)
        assert await _list_nodes(_client(running.port, ours.ca_cert, "attacker.example")) in {
            grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
        # plaintext to the TLS port, even with a valid token
        assert await _list_nodes(_client(running.port, None, None)) in {
            grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
    finally:
        await running.stop(None)


async def test_mutual_tls_refuses_a_client_without_a_certificate(pki: tuple[certs.Issued, certs.Issued]) -> None:
    ours, _ = pki
    grants = [GrpcTokenGrant(name="slice-scheduler", token=SecretStr(TOKEN), roles=["kpm"])]
    running = await start_e2_server(ScriptedNodes(1), E2ServerSettings(
        tokens=grants, tls_cert_file=ours.server_cert, tls_key_file=ours.server_key, tls_client_ca_file=ours.ca_cert))
    try:
        cert, key = ours.clients["slice-scheduler"]
        creds = grpc.ssl_channel_credentials(ours.ca_cert.read_bytes(), key.read_bytes(), cert.read_bytes())
        creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(TOKEN))
        async with grpc.aio.secure_channel(f"127.0.0.1:{running.port}", creds,
                                           [("grpc.ssl_target_name_override", SERVICE)]) as channel:
            reply = await e2ap_pb2_grpc.E2NodeStub(channel).ListNodes(e2ap_pb2.ListNodesRequest(), timeout=5.0)
            assert len(reply.nodes) == 1
        async with open_channel(f"127.0.0.1:{running.port}", token=TOKEN, tls_ca_file=ours.ca_cert,
                                tls_server_name=SERVICE) as channel:  # TLS, a token, but no client certificate
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await e2ap_pb2_grpc.E2NodeStub(channel).ListNodes(e2ap_pb2.ListNodesRequest(), timeout=2.0)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await running.stop(None)
