"""Settings, read once from the environment by the CLI and passed down."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    db_path: Path | None = None  # default: <data_dir>/quotebot.db
    engine: str = "tantivy"
    semantic: bool = True  # hybrid BM25 + sentence-embedding search; QUOTEBOT_SEMANTIC=off for BM25 alone
    rerank: bool = True  # re-rank with the transformer once it has read the sentences; QUOTEBOT_RERANK=off: static model only
    synonyms: Path | None = None
    top_k: int = 3
    feedback: bool = True  # 👍/👎 on answers, stored in the index file; QUOTEBOT_FEEDBACK=off turns them off
    # Slack
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slash_command: str = "/ask"
    host: str = "0.0.0.0"
    port: int = 3000
    refresh_seconds: int = 5  # how often a running bot looks for new or changed articles
    request_seconds: int = 5  # an HTTP connection gets this long to send each whole request, then it is closed

    @property
    def database(self) -> Path:
        return self.db_path or self.data_dir / "quotebot.db"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def get(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        return cls(
            data_dir=Path(get("QUOTEBOT_DATA") or "data"),
            db_path=Path(db) if (db := get("QUOTEBOT_DB")) else None,
            engine=get("QUOTEBOT_ENGINE") or cls.engine,
            semantic=_switch(environ, "QUOTEBOT_SEMANTIC", cls.semantic),
            rerank=_switch(environ, "QUOTEBOT_RERANK", cls.rerank),
            synonyms=Path(syn) if (syn := get("QUOTEBOT_SYNONYMS")) else None,
            top_k=_int(environ, "QUOTEBOT_TOP_K", cls.top_k),
            feedback=_switch(environ, "QUOTEBOT_FEEDBACK", cls.feedback),
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_api_url=_with_slash(get("SLACK_API_URL") or cls.slack_api_url),
            slash_command=get("QUOTEBOT_SLASH_COMMAND") or cls.slash_command,
            host=get("QUOTEBOT_HOST") or cls.host,
            port=_int(environ, "PORT", cls.port),
            refresh_seconds=_int(environ, "QUOTEBOT_REFRESH_SECONDS", cls.refresh_seconds),
            request_seconds=_int(environ, "QUOTEBOT_REQUEST_SECONDS", cls.request_seconds),
        )


def _switch(environ: Mapping[str, str], name: str, default: bool) -> bool:
    value = environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"on", "true", "1", "yes"}:
        return True
    if value in {"off", "false", "0", "no"}:
        return False
    raise ConfigError(f"{name} must be on or off, not {value!r}")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be positive, not {number}")
    return number
