# One image for every process: web, worker, monitor, flower and the seed job.
# The command of each comes from docker-compose.yml (the same as the Procfile's).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first, from pyproject.toml alone, so a code change does not reinstall them
# (this layer is rebuilt only when pyproject.toml changes).
COPY pyproject.toml ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + p["optional-dependencies"]["flower"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt
# Then the code, installed without touching the dependencies.
COPY README.md ./
COPY app ./app
COPY jobs ./jobs
COPY kinds ./kinds
COPY worker ./worker
COPY monitor ./monitor
COPY sales ./sales
COPY devstack ./devstack
RUN pip install --no-deps .
COPY Procfile gunicorn.conf.py ./

RUN useradd --create-home --uid 10001 reports \
    && mkdir -p /data \
    && chown reports /data
USER reports
VOLUME ["/data"]
EXPOSE 8000 5555

CMD ["sh", "-c", "exec gunicorn --config gunicorn.conf.py \"app:create_app()\""]
