# The gateway's image: one image for every process type (the command picks it), as on Heroku.
# docker-compose.yml runs the whole thing; docs/deploy.md explains the variables.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PORT=8000 \
    WEB_HOST=0.0.0.0

WORKDIR /app
RUN useradd --system --create-home --uid 10001 gateway

# Dependencies first, from the hashed lock alone: this layer is rebuilt only when it changes.
COPY requirements.txt ./
RUN pip install --require-hashes -r requirements.txt

COPY manage.py ./
COPY project ./project
COPY gateway ./gateway
COPY adapters ./adapters
COPY consumers ./consumers
# Static files are collected at build time, as Heroku's build does; the key is only for this step.
RUN SECRET_KEY=collectstatic-only-not-used-at-run-time python manage.py collectstatic --noinput

USER gateway
EXPOSE 8000
# Docker sends SIGTERM on `docker stop`; the processes finish their work within 30 s
# (compose's stop_grace_period gives them that long).
STOPSIGNAL SIGTERM
CMD ["python", "manage.py", "runadapter", "web"]
