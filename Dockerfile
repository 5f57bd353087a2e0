# syntax=docker/dockerfile:1
# The emulator in a slim image: built in one stage, run as a non-root user in another.
FROM python:3.11.11-slim-bookworm AS builder
WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY fixtures ./fixtures
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11.11-slim-bookworm
RUN groupadd --system --gid 10001 emulator \
    && useradd --system --uid 10001 --gid emulator --home-dir /data --no-create-home emulator \
    && mkdir /data \
    && chown emulator:emulator /data
COPY --from=builder /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    EMULATOR_HOST=0.0.0.0 \
    EMULATOR_PORT=8080 \
    EMULATOR_DATABASE=sqlite:////data/payments-emulator.db
USER emulator
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["payments-emulator", "healthcheck"]
CMD ["payments-emulator", "serve"]
