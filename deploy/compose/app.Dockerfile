# The app: the project's locked dependencies (uv.lock, no development group), one `congdanso` process per container.
FROM python:3.11-slim-bookworm
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
ENV UV_PROJECT_ENVIRONMENT=/app/.venv
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev && .venv/bin/python -m web.i18n compile
RUN useradd --system --uid 10001 congdanso && mkdir /data && chown congdanso /data
USER congdanso
ENTRYPOINT ["/app/.venv/bin/congdanso"]
CMD ["serve"]
