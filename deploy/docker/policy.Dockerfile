# syntax=docker/dockerfile:1.7
# Policy/guardrail service (A1 policy API, guardrail, audit): `python -m policy` on the shared base
# (deploy/docker/base.Dockerfile), settings from NEXTRIC_POLICY_*. Tokens come from the orchestrator
# (NEXTRIC_POLICY_TOKENS or a mounted NEXTRIC_POLICY_TOKENS_FILE), never from the image.
#
#   docker build -f deploy/docker/base.Dockerfile -t nextric-base .
#   docker build -f deploy/docker/policy.Dockerfile -t nextric/policy:0.1.0 .
ARG BASE_IMAGE=nextric-base
FROM ${BASE_IMAGE}
# Its own dependencies on top of the base, from the hashed lock (`make lock` cuts policy.lock from
# runtime.lock: what this component imports and the base lacks); wheels only, no pip cache, no lock in a layer.
USER 0:0
RUN --mount=type=bind,source=deploy/docker/locks/policy.lock,target=/tmp/component.lock \
    pip install --no-cache-dir --no-compile --require-hashes --no-deps --only-binary=:all: -r /tmp/component.lock \
 && find /opt/nextric -name '__pycache__' -prune -exec rm -rf {} +
ENV NEXTRIC_POLICY_HOST=0.0.0.0 \
    NEXTRIC_POLICY_PORT=8080 \
    NEXTRIC_POLICY_SQLITE_PATH=/var/lib/nextric/policy.db
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-m", "nextric.obs.probe", "--port", "8080", "--path", "/ric/v1/health/alive"]
CMD ["python", "-m", "policy"]
