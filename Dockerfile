# syntax=docker/dockerfile:1
#
# One image for the three Parley services (ingest, projector, api) and for the
# one-shot migration job. Pick the service with the command:
#
#   python -m services.api          (default)
#   python -m services.ingest
#   python -m services.projector
#   python -m services.projector migrate
#
# The image carries no credentials: PARLEY_DATABASE_URL and friends come from
# the environment at run time (see docker-compose.yml).

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

WORKDIR /app

# 1. Dependencies first, so that a code change does not re-download them:
#    install the project's metadata with empty package stubs, then drop the stub
#    (the third-party dependencies stay installed, pinned by constraints.txt).
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir -p shared services \
    && touch shared/__init__.py services/__init__.py \
    && pip install --no-cache-dir -c constraints.txt . \
    && pip uninstall --yes parley \
    && rm -rf shared services build ./*.egg-info

# 2. The project itself. alembic.ini (and the migration scripts it points at)
#    stay in /app, the working directory, where `alembic` and
#    `python -m services.projector migrate` look for them.
COPY . .
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf build ./*.egg-info \
    && test -f alembic.ini

# Run as an unprivileged user; the code under /app stays owned by root and
# read-only for the service.
RUN groupadd --system --gid 10001 parley \
    && useradd --system --uid 10001 --gid parley --home-dir /app \
       --no-create-home --shell /usr/sbin/nologin parley
USER 10001:10001

# api, ingest, projector (health only)
EXPOSE 8000 8001 8002

CMD ["python", "-m", "services.api"]
