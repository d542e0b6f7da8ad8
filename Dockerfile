# syntax=docker/dockerfile:1
# Comanda's images, for machines with a Docker engine (docker-compose.yml). The development
# machines and CI have none: `make up` runs the same programs under supervisord. What is
# checked without an engine: tests/unit/test_compose.py (see docs/OPERATIONS.md).
#
#   app      (default)  the Python processes: API, relay, consumers, Celery worker and beat,
#                       Flower, and the one-shot migrate/seed and tls steps
#   nginx               Debian's nginx + headers-more, the same packages `make up` installs
#   prometheus          Debian's prometheus

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG DEBIAN_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build: compilers live here
FROM ${PYTHON_IMAGE} AS build
# Only for a dependency without a wheel for this platform; none of them reaches the final image.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/venv PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
# Dependencies first (cached while only the code changes), then the project itself.
COPY pyproject.toml README.md ./
RUN mkdir -p app roles events workers seeds stack \
    && /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall -y comanda
COPY app ./app
COPY roles ./roles
COPY events ./events
COPY workers ./workers
COPY seeds ./seeds
COPY stack ./stack
RUN /opt/venv/bin/pip install --no-deps .

# ---------------------------------------------------------------- app: no compilers, not root
FROM ${PYTHON_IMAGE} AS app
RUN groupadd --system --gid 10001 comanda \
    && useradd --system --uid 10001 --gid comanda --home-dir /app --shell /usr/sbin/nologin comanda \
    && mkdir -p /var/lib/comanda/tls \
    && chown -R comanda:comanda /var/lib/comanda
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The programs run from the repo root locally (supervisord's directory=): the same tree here.
COPY --chown=root:root alembic.ini ./
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root app ./app
COPY --chown=root:root roles ./roles
COPY --chown=root:root events ./events
COPY --chown=root:root workers ./workers
COPY --chown=root:root seeds ./seeds
COPY --chown=root:root stack ./stack
ENV PATH=/opt/venv/bin:$PATH VIRTUAL_ENV=/opt/venv PYTHONUNBUFFERED=1 \
    COMANDA_STATE_DIR=/var/lib/comanda COMANDA_API_HOST=0.0.0.0 COMANDA_API_PORT=8000
USER comanda
EXPOSE 8000
# The API's liveness (the default command). Compose gives the other programs their own check.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('COMANDA_API_PORT', '8000') + '/healthz', timeout=3)"]
CMD ["/opt/venv/bin/gunicorn", "-c", "app/gunicorn_conf.py", "app.api:create_app()"]

# ---------------------------------------------------------------- nginx: TLS in front of the API
FROM ${DEBIAN_IMAGE} AS nginx
RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx libnginx-mod-http-headers-more-filter \
       ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/comanda/nginx /var/lib/comanda/conf /var/lib/comanda/tls
# The master starts as root to read the key (owned by the tls step's user); workers drop to
# nobody. Ports are unprivileged (8080, 8443).
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["curl", "-fsS", "--cacert", "/var/lib/comanda/tls/ca.pem", "https://localhost:8443/healthz"]
CMD ["/usr/sbin/nginx", "-e", "stderr", "-p", "/var/lib/comanda/nginx/", "-c", "/var/lib/comanda/conf/nginx.conf"]

# ---------------------------------------------------------------- prometheus
FROM ${DEBIAN_IMAGE} AS prometheus
RUN apt-get update \
    && apt-get install -y --no-install-recommends prometheus ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/comanda/data/prometheus /var/lib/comanda/conf \
    && chown -R prometheus:prometheus /var/lib/comanda
USER prometheus
EXPOSE 9090

# The last stage is what `docker build .` makes without --target: the app.
FROM app
