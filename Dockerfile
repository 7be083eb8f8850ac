# lifemsg production image: one image for web (gunicorn), Celery worker and Celery beat.
# The role is the command: web | worker | beat | manage <args> (see scripts/docker-entrypoint.sh).
#
#   docker compose build && docker compose up -d        (docker-compose.yml, settings from .env)

# Pinned by version; docs/operations.md says how to pin the digest and when to move it.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=lifemsg.settings.production \
    LIFEMSG_VAR_DIR=/var/lib/lifemsg \
    STATIC_ROOT=/var/lib/lifemsg/static \
    PRIVATE_MEDIA_ROOT=/var/lib/lifemsg/private

# The application runs as an unprivileged user that cannot modify its own code.
RUN groupadd --system --gid 10001 lifemsg \
    && useradd --system --uid 10001 --gid lifemsg --home-dir /var/lib/lifemsg --no-create-home \
        --shell /usr/sbin/nologin lifemsg

WORKDIR /app

# WeasyPrint (the case-file PDF/A) lays out text with Pango and embeds DejaVu Sans from the system.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first (cached until the lock changes): runtime only, exactly the locked files (hashes).
COPY pyproject.toml /app/
COPY requirements/lock.txt /app/requirements/
COPY scripts/install_deps.py /app/scripts/
RUN python scripts/install_deps.py && pip check

COPY . /app
RUN chmod 0755 /app/scripts/docker-entrypoint.sh \
    && mkdir -p /var/lib/lifemsg/static /var/lib/lifemsg/private \
    && chown -R lifemsg:lifemsg /var/lib/lifemsg \
    && chmod 0750 /var/lib/lifemsg/private

# Static files belong to the image, not to a volume: an upgrade can never serve the old release's files.
RUN SECRET_KEY=collectstatic-at-build-time-only-never-used-to-sign-anything-000000 \
    python manage.py collectstatic --noinput --verbosity 0

USER lifemsg:lifemsg
EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["web"]
