# Production image: gunicorn web, Celery worker and beat all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Pango and a font for the review pack (WeasyPrint draws its PDF with them).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 slagov \
    && mkdir -p /data/media /app/var \
    && chown -R slagov /data /app/var

# Dependencies first, so that code changes don't reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

COPY . .
# Hashed static files, compressed with gzip and Brotli.
RUN SECRET_KEY=collectstatic-only-not-used-at-runtime-000000 STATIC_MANIFEST=true \
    python manage.py collectstatic --noinput

USER slagov
EXPOSE 8000
CMD ["gunicorn", "slagov.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
