# syntax=docker/dockerfile:1.7
# Beam predictor xApp: `python -m xapps.beam_predictor` on the shared base (deploy/docker/base.Dockerfile), settings from NEXTRIC_XAPP_BEAM_*.
#
#   docker build -f deploy/docker/base.Dockerfile -t nextric-base .
#   docker build -f deploy/docker/beam-predictor.Dockerfile -t nextric/beam-predictor:0.1.0 .
ARG BASE_IMAGE=nextric-base
FROM ${BASE_IMAGE}
# Its own dependencies on top of the base, from the hashed lock (`make lock` cuts beam-predictor.lock from
# runtime.lock: what this component imports and the base lacks); wheels only, no pip cache, no lock in a layer.
USER 0:0
RUN --mount=type=bind,source=deploy/docker/locks/beam-predictor.lock,target=/tmp/component.lock \
    pip install --no-cache-dir --no-compile --require-hashes --no-deps --only-binary=:all: -r /tmp/component.lock \
 && find /opt/nextric -name '__pycache__' -prune -exec rm -rf {} +
# Container defaults only (every value can be overridden by the orchestrator): listen on all interfaces of the
# container, health probes and /metrics on 8080 (the O-RAN SC http port).
ENV NEXTRIC_XAPP_BEAM_HTTP__HOST=0.0.0.0 \
    NEXTRIC_XAPP_BEAM_HTTP__PORT=8080
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-m", "nextric.obs.probe", "--port", "8080", "--path", "/ric/v1/health/alive"]
CMD ["python", "-m", "xapps.beam_predictor"]
