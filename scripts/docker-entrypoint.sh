#!/bin/sh
# Container entry point (Dockerfile). The first argument chooses the role:
#   web            migrate, deployment checks, then gunicorn on :8000 (static files are in the image)
#   worker         Celery worker
#   beat           Celery beat (run exactly one)
#   manage ARGS    python manage.py ARGS   (e.g. docker compose run --rm web manage createsuperuser)
#   anything else  executed as given
# Tunables: WEB_CONCURRENCY (gunicorn workers, default 3), GUNICORN_TIMEOUT (s, default 60),
# GUNICORN_BIND (default 0.0.0.0:8000), CELERY_CONCURRENCY (default 4), CELERY_LOG_LEVEL (default
# info), MIGRATE_ON_START (default 1).
set -eu

cd "$(dirname "$0")/.."
role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
web)
    if [ "${MIGRATE_ON_START:-1}" = "1" ]; then
        python manage.py migrate --noinput
    fi
    python manage.py check --deploy --fail-level ERROR
    exec gunicorn lifemsg.wsgi:application \
        --bind "${GUNICORN_BIND:-0.0.0.0:8000}" \
        --workers "${WEB_CONCURRENCY:-3}" \
        --timeout "${GUNICORN_TIMEOUT:-60}" \
        --access-logfile - \
        --error-logfile - \
        "$@"
    ;;
worker)
    exec celery -A lifemsg worker \
        --loglevel "${CELERY_LOG_LEVEL:-info}" \
        --concurrency "${CELERY_CONCURRENCY:-4}" \
        "$@"
    ;;
beat)
    exec celery -A lifemsg beat --loglevel "${CELERY_LOG_LEVEL:-info}" "$@"
    ;;
manage)
    exec python manage.py "$@"
    ;;
*)
    exec "$role" "$@"
    ;;
esac
