FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
RUN pip install --no-cache-dir .
COPY data ./data
ENV QUOTEBOT_DATA=/app/data
CMD ["quotebot", "repl"]
