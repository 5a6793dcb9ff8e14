# syntax=docker/dockerfile:1.7
# E2 termination bridge (gNBs speak E2AP to it, the xApps keep gRPC E2): `python -m e2term` on the shared base (deploy/docker/base.Dockerfile), settings from NEXTRIC_E2TERM_*.
#
#   docker build -f deploy/docker/base.Dockerfile -t nextric-base .
#   docker build -f deploy/docker/e2term.Dockerfile -t nextric/e2term:0.1.0 .
ARG BASE_IMAGE=nextric-base
FROM ${BASE_IMAGE}
# Its own dependencies on top of the base, from the hashed lock (`make lock` cuts e2term.lock from
# runtime.lock: what this component imports and the base lacks); wheels only, no pip cache, no lock in a layer.
USER 0:0
RUN --mount=type=bind,source=deploy/docker/locks/e2term.lock,target=/tmp/component.lock \
    pip install --no-cache-dir --no-compile --require-hashes --no-deps --only-binary=:all: -r /tmp/component.lock \
 && find /opt/nextric -name '__pycache__' -prune -exec rm -rf {} +
# Container defaults only (every value can be overridden by the orchestrator): listen on all interfaces of the
# container, health probes and /metrics on 8080 (the O-RAN SC http port), the gRPC E2 hub for the xApps on 36422,
# E2AP for the gNBs on 36421 (the E2 default; SCTP where the kernel has it, else TCP framing: E2AP__TRANSPORT).
# EXPOSE names 36421 without a protocol (hadolint knows tcp/udp only): the orchestrator publishes it as SCTP
# (compose `36421/sctp`, a Kubernetes port with protocol SCTP) when the bridge runs SCTP.
ENV NEXTRIC_E2TERM_HTTP__HOST=0.0.0.0 \
    NEXTRIC_E2TERM_HTTP__PORT=8080 \
    NEXTRIC_E2TERM_E2__HOST=0.0.0.0 \
    NEXTRIC_E2TERM_E2__PORT=36422 \
    NEXTRIC_E2TERM_E2AP__HOST=0.0.0.0 \
    NEXTRIC_E2TERM_E2AP__PORT=36421
EXPOSE 8080 36422 36421
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-m", "nextric.obs.probe", "--port", "8080", "--path", "/ric/v1/health/alive"]
CMD ["python", "-m", "e2term"]
