# indexguard for operators:
#   docker build -t indexguard .
#   docker run -p 127.0.0.1:8080:8080 -v indexguard-data:/var/lib/indexguard indexguard
# The SQLite default (database and its key file) lives on the /var/lib/indexguard volume; the first start prints
# the admin's one-time password to the container log. compose.yaml runs it on PostgreSQL. See docs/service.md,
# "Container". BASE_IMAGE: any Debian-like image with Python 3.11+ and its venv module (`python` on PATH).
ARG BASE_IMAGE=docker.io/library/python:3.11-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# Wheels of indexguard and every dependency (pdqhash has no wheel for every Python: it compiles here), so the
# final stage needs no compiler. Python's headers come with the official image; a Debian base needs python3-dev.
RUN apt-get update -qq \
    && headers="$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
    && apt-get install -y -qq --no-install-recommends g++ $([ -e "$headers/Python.h" ] || echo python3-dev) >/dev/null \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/build \
    && /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check -q --wheel-dir /wheels .

FROM ${BASE_IMAGE}
COPY --from=build /wheels /wheels
# A plain install (no extras) in its own virtualenv; the service runs as an unprivileged user.
RUN python -m venv /opt/indexguard \
    && /opt/indexguard/bin/pip install --no-cache-dir --disable-pip-version-check -q --no-index --find-links /wheels indexguard \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/indexguard --create-home indexguard
ENV PATH=/opt/indexguard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    INDEXGUARD_HOST=0.0.0.0 \
    INDEXGUARD_PORT=8080 \
    INDEXGUARD_DATABASE_URL=sqlite:////var/lib/indexguard/indexguard.db
WORKDIR /var/lib/indexguard
VOLUME ["/var/lib/indexguard"]
USER indexguard
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('INDEXGUARD_PORT', '8080'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status == 200 else 1)"]
CMD ["indexguard", "serve"]
