"""The checks a request passes before Bolt sees it."""

from __future__ import annotations

import json
import time

from bot.slack.gate import check_body, check_signature
from tests.slackkit import SIGNING_SECRET, command_body, sign


def headers(body: str, **extra: object) -> dict[str, str]:
    return {k.lower(): v for k, v in sign(body, **extra).items()}  # type: ignore[arg-type]


def test_signature_is_checked_on_the_raw_bytes() -> None:
    body = '{"type": "event_callback"}'
    assert check_signature(body.encode(), headers(body), SIGNING_SECRET) is None
    assert check_signature((body + " ").encode(), headers(body), SIGNING_SECRET).status == 401  # type: ignore[union-attr]
    assert check_signature(body.encode(), {}, SIGNING_SECRET).reason == "unsigned request"  # type: ignore[union-attr]
    bad_time = {**headers(body), "x-slack-request-timestamp": "12ab"}
    assert check_signature(body.encode(), bad_time, SIGNING_SECRET).reason == "malformed request timestamp"  # type: ignore[union-attr]
    old = headers(body, timestamp=int(time.time()) - 301)
    assert check_signature(body.encode(), old, SIGNING_SECRET).reason == "stale request timestamp"  # type: ignore[union-attr]


def test_signed_bodies_must_have_the_shape_of_slack_requests() -> None:
    form = "application/x-www-form-urlencoded"
    assert check_body(b'{"type": "url_verification"}', "application/json") is None
    assert check_body(b"[1, 2]", "application/json").reason == "body is not a JSON object"  # type: ignore[union-attr]
    assert check_body(b"{oops", "application/json; charset=utf-8").reason == "body is not valid JSON"  # type: ignore[union-attr]
    assert check_body(b"\xff\xfe", "application/json").reason == "body is not UTF-8"  # type: ignore[union-attr]
    assert check_body(command_body("hi", "https://hooks.slack.com/x").encode(), form) is None
    missing = command_body("hi", "").encode()
    assert check_body(missing, form).reason == "slash command without response_url"  # type: ignore[union-attr]
    payload = "payload=" + json.dumps(["not", "an", "object"])
    assert check_body(payload.encode(), form).reason == "payload is not a JSON object"  # type: ignore[union-attr]
    assert check_body(b"ssl_check=1&token=x", form) is None
    assert check_body(b"q=anything", form).status == 400  # type: ignore[union-attr]


def test_a_signal_during_a_request_is_not_swallowed_by_the_server_loop() -> None:
    """waitress handles each connection event inside `except: handle_error()`, letting only KeyboardInterrupt and
    SystemExit through: a SIGTERM landing there must still stop `quotebot serve`."""
    import signal

    import pytest
    from waitress import wasyncore

    from bot.interrupt import Interrupted

    class Reading:
        def handle_read_event(self) -> None:
            raise Interrupted(signal.SIGTERM)

        def handle_error(self) -> None:
            raise AssertionError("swallowed as an ordinary error")

    with pytest.raises(Interrupted):
        wasyncore.read(Reading())
