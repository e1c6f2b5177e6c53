# mediawatch daemon image: slim Python, non-root, configuration mounted at /config/mediawatch.toml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MEDIAWATCH_CONFIG=/config/mediawatch.toml

RUN useradd --create-home --uid 10001 mediawatch
WORKDIR /app

# Dependencies first (cached across code changes), then the code.
COPY pyproject.toml README.md requirements.lock ./
COPY crawler ./crawler
COPY scheduler ./scheduler
COPY digest ./digest
COPY storage ./storage
RUN pip install -r requirements.lock && pip install --no-deps .

USER mediawatch
WORKDIR /home/mediawatch

VOLUME ["/home/mediawatch/data", "/home/mediawatch/digests"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s \
  CMD ["mediawatch", "status", "--check"]
CMD ["mediawatch", "run"]
