"""Per-channel default scopes: `scopes.toml` beside the articles maps Slack channel IDs to folders.

    [channels]
    C0123SPORT = "sport"               # questions asked in this channel search sport/ only
    C0456MONEY = ["business", "tech"]

The file is read at start and again whenever it changes. A file that cannot be used is reported once
per change, and the last good mapping keeps serving. `in:folder` at the start of a question overrides it.
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger(__name__)

SCOPES_FILE = "scopes.toml"


class ScopesError(ValueError):
    """scopes.toml cannot be used; the message names the file and the problem."""


def parse_scopes(text: str, name: str = SCOPES_FILE) -> dict[str, tuple[str, ...]]:
    """Channel ID -> folders, from the file's text. Raises ScopesError, naming the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScopesError(f"{name}: not valid TOML ({error})") from error
    unknown = sorted(set(data) - {"channels"})
    if unknown:
        raise ScopesError(f"{name}: unknown section {', '.join(unknown)}; put channel IDs under [channels]")
    channels = data.get("channels", {})
    if not isinstance(channels, Mapping):
        raise ScopesError(f"{name}: [channels] must be a table of channel ID = folder(s)")
    found: dict[str, tuple[str, ...]] = {}
    for channel, value in channels.items():
        folders = [value] if isinstance(value, str) else value
        if not isinstance(folders, list) or not folders or not all(isinstance(f, str) and f.strip("/ ") for f in folders):
            raise ScopesError(f'{name}: channel {channel} must name a folder ("sport") or a list of folders, not {value!r}')
        found[channel] = tuple(dict.fromkeys(f.strip().strip("/") for f in folders))
    return found


class ChannelScopes:
    """The per-channel scopes of an articles folder, following changes to its scopes.toml."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / SCOPES_FILE
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the version last read, good or bad
        self._scopes: dict[str, tuple[str, ...]] = {}
        self.problem: str | None = None  # why the current file is not used, if it is not

    def load(self) -> ChannelScopes:
        """Read the file now; ScopesError if it cannot be used (at start, when there is no good version to keep)."""
        self._reload(strict=True)
        return self

    def for_channel(self, channel: str | None) -> tuple[str, ...]:
        """The folders questions asked in this channel search by default; () for all."""
        self._reload(strict=False)
        return self._scopes.get(channel or "", ())

    def _reload(self, strict: bool) -> None:
        try:
            stat = os.stat(self.path)
            seen: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            seen = None
        except OSError as error:
            seen = (-1, -1)
            if strict:
                raise ScopesError(f"{self.path}: cannot be read ({error.strerror})") from error
        with self._lock:
            if seen == self._seen and not strict:
                return
            self._seen = seen
            try:
                scopes = parse_scopes(self.path.read_text(encoding="utf-8"), str(self.path)) if seen else {}
            except (ScopesError, OSError, UnicodeDecodeError) as error:
                self.problem = str(error) if isinstance(error, ScopesError) else f"{self.path}: cannot be read ({error})"
                if strict:
                    raise ScopesError(self.problem) from error
                logger.error("%s; the channel scopes read before keep serving", self.problem)
                return
            self.problem = None
            if scopes != self._scopes:
                logger.info("channel scopes: %d channel%s", len(scopes), "" if len(scopes) == 1 else "s")
            self._scopes = scopes
