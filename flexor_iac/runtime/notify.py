"""Notifications through the vault's channel settings; every message lands in the outbox.

Slack and webhook messages are real HTTP POSTs (Slack's incoming webhooks take
`{"channel", "text"}`), only to allowed destinations (`egress`; a refusal fails the step).
The outbox records the *setting* a message went to (for example `env:SLACK_WEBHOOK_URL`),
never the resolved secret. A channel with nothing configured records the message in the
outbox only (the embedded default), and says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from flexor_iac.controlplane.runs import OutboxMessage, RunRecords
from flexor_iac.project.models import NotificationSettings
from flexor_iac.runtime.egress import DestinationRefused, NotResolvedInTime, guarded_client
from flexor_iac.runtime.limits import MAX_RECORDED_MESSAGE, RecordBudget
from flexor_iac.runtime.secrets import MissingSecret, Secrets

HTTP_TIMEOUT_SECONDS = 10.0
OUTBOX_ONLY = "outbox only (no {setting} configured)"
ALLOW_HINT = " (allow it with notifications.allowed_hosts)"


class DeliveryFailed(Exception):
    """A notification that could not be delivered (the step fails)."""


@dataclass(frozen=True)
class Sender:
    """Who sends: the run, the agent, the environment."""

    environment: str
    agent: str
    run_id: str | None


class Notifier:
    """Sends one run's notifications and records each in the outbox."""

    def __init__(self, store: RunRecords, settings: NotificationSettings, secrets: Secrets,
                 sender: Sender, clock: Any,
                 redact: Callable[[Any], Any] | None = None,
                 timeout: Callable[[float], float] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.secrets = secrets
        self.sender = sender
        self.clock = clock
        # What the outbox keeps: the run's Redactor (the same rules as its record), else secrets.
        self.redact = redact or (lambda value: secrets.scrub(value)
                                 if isinstance(value, str) else value)
        # An HTTP call waits at most this long (the run's time left: Deadline.bound).
        self.timeout = timeout or (lambda seconds: seconds)

    def slack(self, channel: str | None, text: str) -> str:
        """Post to the vault's Slack webhook."""
        message = {"channel": channel, "text": text}
        return self._post("slack", "notifications.slack_webhook", self.settings.slack_webhook,
                          message)

    def webhook(self, url: str | None, payload: Any) -> str:
        """POST a JSON payload to `url` or the vault's webhook_url (default: who sent it)."""
        if payload is None:
            payload = {"agent": self.sender.agent, "environment": self.sender.environment,
                       "run_id": self.sender.run_id}
        setting = "core.notify.webhook url" if url else "notifications.webhook_url"
        return self._post("webhook", setting, url or self.settings.webhook_url,
                          {"payload": payload})

    def email(self, to: str, subject: str | None, text: str) -> str:
        """Record an email (the embedded runtime has no mail transport: outbox only)."""
        message = {"from": self.settings.email_from, "to": to, "subject": subject, "text": text}
        delivery = "outbox only (no mail transport in the embedded runtime)"
        self._record("email", to, message, delivery)
        return delivery

    def default_channel(self, text: str) -> str:
        """A message on the vault's default channel (retry policy `notify_ops`)."""
        match self.settings.default_channel:
            case "webhook":
                return self.webhook(None, {"text": text})
            case "email":
                return self.email(self.settings.email_from or "ops", "Flexor agent failure", text)
            case _:
                return self.slack(None, text)

    def _post(self, channel: str, setting: str, target: str | None,
              message: dict[str, Any]) -> str:
        if not target:
            delivery = OUTBOX_ONLY.format(setting=setting)
            self._record(channel, "(none)", message, delivery)
            return delivery
        try:
            url = self.secrets.resolve(target, setting)
        except MissingSecret as error:
            self._record(channel, target, message, f"failed: {error}")
            raise DeliveryFailed(str(error)) from None
        body = message["payload"] if channel == "webhook" else message
        try:
            delivery = self._send(url, body)
        except DestinationRefused as refused:
            # Names the host and the kind of address only: not the URL, not what answered.
            self._record(channel, target, message, f"refused: {refused}")
            hint = ALLOW_HINT if refused.allowable else ""
            raise DeliveryFailed(f"{channel} destination refused: {refused}{hint}") from None
        self._record(channel, target, message, delivery)
        if delivery != "delivered":
            raise DeliveryFailed(f"{channel} message not delivered ({delivery[8:]})")
        return delivery

    def _send(self, url: str, body: Any) -> str:
        """POST `body` to `url` if its destination is allowed; the delivery for the outbox."""
        try:
            with guarded_client(self.settings.allowed_hosts,
                                self.timeout(HTTP_TIMEOUT_SECONDS)) as client:
                response = client.post(url, json=body)
        except NotResolvedInTime as error:  # says so without naming the URL or its host
            return f"failed: {error}"
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            # httpx messages can name the URL, which may be the secret: say only what failed.
            return f"failed: {type(error).__name__}"
        if response.is_success:
            return "delivered"
        if response.is_redirect:
            return f"failed: HTTP {response.status_code}, redirects are not followed"
        return f"failed: HTTP {response.status_code}"

    def _record(self, channel: str, target: str, message: dict[str, Any], delivery: str) -> None:
        now: datetime = self.clock()
        clean = RecordBudget(MAX_RECORDED_MESSAGE).each_value(
            {k: self.redact(v) for k, v in message.items()})
        self.store.add_to_outbox(OutboxMessage(
            self.sender.environment, self.sender.run_id, self.sender.agent, channel,
            target if target.startswith("env:") else self.redact(target),
            clean, delivery, now))
