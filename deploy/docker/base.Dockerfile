# syntax=docker/dockerfile:1.7
# The shared base of every nextric image: the package and the runtime dependencies every component imports, in a
# virtual environment, built in one stage and copied into a slim runtime stage (no compiler, no pip cache, non-root
# user). Each app image adds only its own pins on top (deploy/docker/locks/<component>.lock).
#
#   docker build -f deploy/docker/base.Dockerfile -t nextric-base .
#
# The app images (deploy/docker/<app>.Dockerfile) start FROM this image; docker-compose.yml builds it first
# (additional_contexts: nextric-base=service:base).
#
# Dependencies come from hashed locks only (`make lock` writes them, docs/deploy.md): pip installs with
# --require-hashes --no-deps --only-binary=:all:, and the project's own wheel with --no-deps. The Python image is
# pinned by tag and by digest: PYTHON_DIGEST (sha256:..., the tag's manifest list digest) is filled by
# deploy/docker/pin-digests.sh; left empty the build uses the tag alone.
ARG PYTHON_DIGEST=

FROM python:3.11.9-slim-bookworm${PYTHON_DIGEST:+@}${PYTHON_DIGEST} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY deploy/docker/locks/build.lock deploy/docker/locks/base.lock ./locks/
# setuptools + wheel (hashed) in a throwaway environment build the project's wheel; the runtime environment gets the
# base lock only (no [dev], [train], [plots] or [gym] extra: serving never imports torch, matplotlib or gymnasium).
RUN python -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: -r locks/build.lock \
 && python -m venv /opt/nextric \
 && /opt/nextric/bin/pip install --no-cache-dir --no-compile --require-hashes --no-deps --only-binary=:all: \
      -r locks/base.lock
COPY pyproject.toml README.md ./
COPY nextric ./nextric
COPY testbed ./testbed
COPY xapps ./xapps
COPY rapps ./rapps
COPY policy ./policy
COPY bench ./bench
COPY suite ./suite
COPY e2term ./e2term
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/dist . \
 && /opt/nextric/bin/pip install --no-cache-dir --no-compile --no-deps /tmp/dist/nextric-*.whl \
 && find /opt/nextric -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11.9-slim-bookworm${PYTHON_DIGEST:+@}${PYTHON_DIGEST} AS runtime
LABEL org.opencontainers.image.source="nextric" org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 nextric \
 && useradd --system --uid 10001 --gid nextric --home-dir /var/lib/nextric --create-home --shell /usr/sbin/nologin nextric
COPY --from=build /opt/nextric /opt/nextric
ENV PATH=/opt/nextric/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /var/lib/nextric
USER 10001:10001
