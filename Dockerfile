# Production image: PostgreSQL by LEADMASTER_DATABASE_URL, migrations applied at start.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    LEADMASTER_HOST=0.0.0.0 \
    LEADMASTER_PORT=8080 \
    LEADMASTER_VAR_DIR=/app/var

# Tesseract reads VIN plates from customers' photos (SPEC V1); HAProxy balances several web processes
# (`leadmaster cluster`, or the haproxy service of docker-compose.yml: SPEC O6, docs/scaling.md).
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-spa postgresql-client haproxy \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
RUN pip install --no-cache-dir uv==0.13.8
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY components ./components
COPY services ./services
COPY deploy ./deploy
COPY alembic.ini ./
RUN uv sync --frozen --no-dev \
    && useradd --system --home /app leadmaster \
    && mkdir -p /app/var && chown leadmaster /app/var

USER leadmaster
VOLUME ["/app/var"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')"
CMD ["/app/.venv/bin/leadmaster", "run"]
