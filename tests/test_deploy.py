"""What can be checked of the deployment files without a Docker engine or Slack."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.cli import cli
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_compose_service_runs_serve_with_env_file_and_data_volume() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    bot = compose["services"]["bot"]
    assert bot["command"] == ["quotebot", "serve"]
    assert bot["env_file"] == ".env"
    assert "./data:/app/data" in bot["volumes"]
    assert bot["environment"]["QUOTEBOT_DATA"] == "/app/data"
    assert "/healthz" in " ".join(bot["healthcheck"]["test"])
    index = compose["services"]["index"]
    assert index["command"][1] in cli.commands


def test_dockerfile_command_is_a_cli_command() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    command = re.search(r'^CMD \["quotebot", "(\w+)"\]', dockerfile, re.M)
    assert command and command.group(1) in cli.commands
    assert "pip install" in dockerfile


def test_env_example_names_only_variables_the_bot_reads() -> None:
    names = re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M)
    environ = {name: "1" for name in names}
    environ.update(SLACK_API_URL="http://x/", SLACK_BOT_TOKEN="xoxb-1", QUOTEBOT_SLASH_COMMAND="/ask")
    settings = Settings.from_env(environ)
    assert settings.slack_bot_token == "xoxb-1" and settings.port == 1
    source = "\n".join(p.read_text() for p in (ROOT / "bot").rglob("*.py"))
    for name in names:
        assert f'"{name}"' in source, name


def test_manifests_match_the_app() -> None:
    for name, socket_mode in (("manifest.http.yaml", False), ("manifest.socket.yaml", True)):
        manifest = yaml.safe_load((ROOT / "slack" / name).read_text())
        settings = manifest["settings"]
        assert settings["socket_mode_enabled"] is socket_mode
        assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
        assert settings["interactivity"]["is_enabled"]
        [command] = manifest["features"]["slash_commands"]
        assert command["command"] == Settings().slash_command
        scopes = set(manifest["oauth_config"]["scopes"]["bot"])
        assert {"app_mentions:read", "chat:write", "commands", "im:history"} <= scopes
        if not socket_mode:
            assert command["url"].endswith("/slack/events")
            assert settings["event_subscriptions"]["request_url"].endswith("/slack/events")
