# syntax=docker/dockerfile:1
# twilio-payments-emulator: built in one stage, run in a slim one as a non-root user.
# Nothing here depends on the CPU architecture: every dependency has wheels for amd64 and
# arm64 (docker buildx build --platform linux/amd64,linux/arm64 .).
# Reproducible: every dependency, and the build backend, comes from the lock files under
# requirements/ (made by scripts/lock) with pip --require-hashes, as wheels only.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements ./requirements
RUN python -m venv /opt/build \
    && /opt/build/bin/pip install --require-hashes --only-binary=:all: -r requirements/build.lock \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY fixtures ./fixtures
# The package's version: no .git is copied, so it comes from this argument (the release
# workflow passes the tag's, e.g. 1.2.3), else it is pyproject.toml's fallback (0.0.0).
# --no-index: the lock must already hold every dependency the package declares.
ARG VERSION=""
RUN SETUPTOOLS_SCM_PRETEND_VERSION="${VERSION}" \
    /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir dist . \
    && /opt/venv/bin/pip install --no-index dist/*.whl

FROM ${PYTHON_IMAGE}
ARG VERSION=""
LABEL org.opencontainers.image.title="twilio-payments-emulator" \
      org.opencontainers.image.description="A local, stateful emulator of Twilio's Voice Payments REST API, for integration tests" \
      org.opencontainers.image.source="https://github.com/twilio-payments-emulator/twilio-payments-emulator" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
RUN groupadd --system --gid 10001 emulator \
    && useradd --system --uid 10001 --gid emulator --home-dir /data --no-create-home emulator \
    && mkdir /data \
    && chown emulator:emulator /data
COPY --from=builder /opt/venv /opt/venv
# Configuration is by EMULATOR_* variables only (see the settings reference in the docs).
# HTTPS on 443 with certificates generated into the volume at first start (the CA to trust
# is /data/tls/ca.pem): a non-root process may bind 443 because Docker (20.10 and newer)
# sets net.ipv4.ip_unprivileged_port_start=0 in a container's network namespace.
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=8080 \
    EMULATOR_DATABASE=sqlite:////data/payments-emulator.db \
    EMULATOR_TLS_PORT=443 \
    EMULATOR_TLS_DIR=/data/tls \
    EMULATOR_TLS_NAMES=api.twilio.com,payments-emulator,localhost,127.0.0.1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080 443
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["payments-emulator", "healthcheck"]
CMD ["payments-emulator", "serve"]
