FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
RUN pip install --no-cache-dir .
ENV QUOTEBOT_DATA=/app/data PORT=3000
EXPOSE 3000
CMD ["quotebot", "serve"]
