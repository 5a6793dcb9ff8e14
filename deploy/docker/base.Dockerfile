# syntax=docker/dockerfile:1.7
# The shared base of every nextric image: the package and its runtime dependencies in a virtual environment,
# built in one stage and copied into a slim runtime stage (no compiler, no pip cache, non-root user).
#
#   docker build -f deploy/docker/base.Dockerfile -t nextric-base .
#
# The app images (deploy/docker/<app>.Dockerfile) start FROM this image; docker-compose.yml builds it first
# (additional_contexts: nextric-base=service:base).
ARG PYTHON_IMAGE=python:3.11.9-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/nextric
COPY pyproject.toml README.md ./
COPY nextric ./nextric
COPY testbed ./testbed
COPY xapps ./xapps
COPY rapps ./rapps
COPY policy ./policy
COPY bench ./bench
COPY suite ./suite
# The runtime dependencies only (no [dev] or [train] extra: serving never imports torch).
RUN /opt/nextric/bin/pip install --no-cache-dir --no-compile . \
 && find /opt/nextric -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.source="nextric" org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 nextric \
 && useradd --system --uid 10001 --gid nextric --home-dir /var/lib/nextric --create-home --shell /usr/sbin/nologin nextric
COPY --from=build /opt/nextric /opt/nextric
ENV PATH=/opt/nextric/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /var/lib/nextric
USER 10001:10001
