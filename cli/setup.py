"""``connector setup``: the onboarding steps after ``sam deploy``, each idempotent and re-runnable.

1. ``secrets``: merge the merchant's credentials into the Brightpearl and Amazon secrets (read, merge,
   put): keys already there are kept, unknown keys are refused by name, the webhook secret (with the
   stack's generated ``webhook_token``) is never written.
2. ``webhook``: register Brightpearl's on-hand webhook at the stack's ``WebhookBaseUrl`` output + token,
   reusing a registration that already points there, removing ones that point here with an old token.
3. ``notifications``: the SP-API SQS destination for the ``NotificationsQueueArn`` output (grantless
   token) and the subscriptions the connector consumes (seller token); an existing destination or
   subscription is found and reused (Amazon allows one subscription per type: a second answers 409).
4. ``ses``: the sender identity verified? The account in the sandbox (recipients must be verified)?
   The alarm topic's email subscription confirmed?
5. ``check``: each path end to end — Brightpearl's webhook test call reaches the webhook function, the
   stock-change queue and its consumer; an SP-API report's notification reaches the notifications queue
   and its consumer.

The platforms are called from here with the credentials in the stack's secrets, at the endpoints the
stack's functions use (``Transport.endpoints``): only endpoints differ between a real account and the
simulators. Secret values are never printed.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from botocore.exceptions import ClientError

from cli.transport import NOTIFICATION_PATH, STOCK_CHANGE_PATH, Transport

STEPS = ("secrets", "webhook", "notifications", "ses", "check")
OK, CHANGED, WARNING, FAILED, SKIPPED = "ok", "changed", "warning", "failed", "skipped"

# The secrets' keys, as connector.adapters.brightpearl.factory / amazon.factory read them (``expires_at``
# is written back by the connector when it rotates OAuth tokens).
BRIGHTPEARL_KEYS = {
    "private": ("auth", "app_ref", "account_token", "staff_token"),
    "oauth": ("auth", "app_ref", "dev_ref", "client_id", "client_secret", "access_token", "refresh_token",
              "api_domain", "expires_at"),
}
AMAZON_KEYS = ("refresh_token", "lwa_app_id", "lwa_client_secret")
# Issue 16: one refresh token per regional authorisation, {"na": "Atzr|…"} (docs/regions.md); optional.
AMAZON_ALLOWED = (*AMAZON_KEYS, "region_refresh_tokens")

WEBHOOK_EVENT = "product.modified.on-hand-modified"
WEBHOOK_BODY = ('{"accountCode":"${account-code}","resourceType":"${resource-type}","id":"${resource-id}",'
                '"lifecycleEvent":"${lifecycle-event}","fullEvent":"${full-event}","raisedOn":"${raised-on}"}')

# What the connector consumes over SQS (functions/notifications/app.py routes them), with the payload
# version its parser reads. LISTINGS_ITEM_* are EventBridge-only types: README, SpApiEventBusName.
SUBSCRIPTIONS = (("REPORT_PROCESSING_FINISHED", "2020-09-04"), ("FEED_PROCESSING_FINISHED", "2020-09-04"),
                 ("FBA_INVENTORY_AVAILABILITY_CHANGES", "1.0"))
# The health check's report: one the connector never requests, so its notification is acknowledged and
# nothing else happens (connector.domain.reports: the movements reports; nightly: the listings report).
PROBE_REPORT = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"


class SetupError(RuntimeError):
    """A step cannot go on; the message says what to do."""


@dataclass
class Step:
    step: str
    status: str = OK
    summary: str = ""
    todo: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# ------------------------------------------------------------------------------ the platforms' APIs
class Brightpearl:
    """The few integration-service calls setup makes, with the credentials from the stack's secret."""

    def __init__(self, base_url: str, account: str, secret: dict[str, Any]) -> None:
        if secret.get("auth", "private") == "oauth":
            if not secret.get("access_token"):
                raise SetupError("the Brightpearl secret has no access_token yet: let the connector run once "
                                 "(it refreshes the token), or add the current access_token with `setup secrets`")
            domain = secret.get("api_domain")
            self.base = f"https://{domain}" if domain else base_url
            self.headers = {"Authorization": f"Bearer {secret['access_token']}",
                            "brightpearl-app-ref": str(secret.get("app_ref", "")),
                            "brightpearl-dev-ref": str(secret.get("dev_ref", ""))}
        else:
            self.base = base_url
            self.headers = {"brightpearl-app-ref": str(secret.get("app_ref", ""))}
            if secret.get("account_token"):
                self.headers["brightpearl-account-token"] = str(secret["account_token"])
            else:
                self.headers["brightpearl-staff-token"] = str(secret.get("staff_token", ""))
        self.base = f"{self.base.rstrip('/')}/public-api/{account}/"

    def call(self, method: str, path: str, body: Any = None, *, missing_ok: bool = False) -> Any:
        for attempt in range(4):
            resp = requests.request(method, self.base + path, json=body, headers=self.headers, timeout=30)
            if resp.status_code == 503 and attempt < 3:  # Brightpearl's throttle: wait for the window
                time.sleep(min(10.0, int(resp.headers.get("brightpearl-next-throttle-period", "1000")) / 1000))
                continue
            break
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            raise SetupError(f"Brightpearl {method} {path}: HTTP {resp.status_code} {resp.text[:300]}")
        data = resp.json() if resp.content else {}
        return data.get("response") if isinstance(data, dict) else data


class SpApi:
    """LWA tokens (seller and grantless) and the Notifications/Reports calls setup makes."""

    def __init__(self, endpoint: str, lwa_url: str, secret: dict[str, Any]) -> None:
        self.endpoint, self.lwa_url, self.secret = endpoint.rstrip("/"), lwa_url, secret
        self._tokens: dict[str, str] = {}

    def _token(self, grantless: bool) -> str:
        kind = "grantless" if grantless else "seller"
        if kind not in self._tokens:
            form = {"client_id": self.secret["lwa_app_id"], "client_secret": self.secret["lwa_client_secret"]}
            form |= ({"grant_type": "client_credentials", "scope": "sellingpartnerapi::notifications"} if grantless
                     else {"grant_type": "refresh_token", "refresh_token": self.secret["refresh_token"]})
            resp = requests.post(self.lwa_url, data=form, timeout=30)
            if resp.status_code != 200:
                raise SetupError(f"Amazon LWA ({kind} token): HTTP {resp.status_code} {resp.text[:300]} — "
                                 "check lwa_app_id / lwa_client_secret / refresh_token in the Amazon secret")
            self._tokens[kind] = str(resp.json()["access_token"])
        return self._tokens[kind]

    def call(self, method: str, path: str, body: Any = None, *, grantless: bool = False,
             params: dict[str, str] | None = None) -> tuple[int, Any]:
        for attempt in range(6):
            resp = requests.request(method, self.endpoint + path, json=body, params=params, timeout=30,
                                    headers={"x-amz-access-token": self._token(grantless),
                                             "user-agent": "brightpearl-amazon-connector-setup"})
            if resp.status_code == 429 and attempt < 5:  # Notifications API: 1 request/s, burst 5
                time.sleep(1.0 + attempt)
                continue
            break
        data = resp.json() if resp.content else {}
        if resp.status_code >= 400 and resp.status_code not in (404, 409):
            raise SetupError(f"SP-API {method} {path}: HTTP {resp.status_code} {json.dumps(data)[:300]}")
        return resp.status_code, data


# ------------------------------------------------------------------------------ the steps
class Setup:
    def __init__(self, t: Transport, *, brightpearl_file: Path | None = None, amazon_file: Path | None = None,
                 replace_subscriptions: bool = False, probe_product: int | None = None, timeout: float = 300,
                 progress: Callable[[str], None] = lambda _m: None) -> None:
        self.t = t
        self.brightpearl_file, self.amazon_file = brightpearl_file, amazon_file
        self.replace_subscriptions, self.probe_product, self.timeout = replace_subscriptions, probe_product, timeout
        self.progress = progress
        self._outputs: dict[str, str] | None = None

    @property
    def outputs(self) -> dict[str, str]:
        if self._outputs is None:
            self._outputs = self.t.outputs()
        return self._outputs

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if not value:
            raise SetupError(f"the stack has no output or parameter {name}")
        return value

    def run(self, steps: tuple[str, ...]) -> list[Step]:
        """The steps in order; after a failed one, the rest of a full run is skipped (they depend on it)."""
        done: list[Step] = []
        for name in steps:
            if done and done[-1].status == FAILED and len(steps) > 1:
                done.append(Step(name, SKIPPED, f"not run: {done[-1].step} failed"))
                continue
            self.progress(f"setup: {name}…")
            try:
                done.append(getattr(self, name)())
            except SetupError as exc:
                done.append(Step(name, FAILED, str(exc)))
            except (requests.RequestException, ClientError) as exc:
                done.append(Step(name, FAILED, f"{type(exc).__name__}: {exc}"))
        return done

    # -------------------------------------------------------------- secrets
    def _read_secret(self, output: str) -> tuple[str, dict[str, Any]]:
        arn = self.output(output)
        try:
            raw = self.t.client("secretsmanager").get_secret_value(SecretId=arn).get("SecretString") or "{}"
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return arn, {}
            raise
        try:
            value = json.loads(raw)
        except ValueError:
            raise SetupError(f"secret {arn} is not JSON: fix or empty it in Secrets Manager first") from None
        if not isinstance(value, dict):
            raise SetupError(f"secret {arn} is a JSON {type(value).__name__}, not an object")
        return arn, value

    def secrets(self) -> Step:
        step = Step("secrets")
        changed = []
        allowed: tuple[str, ...] | None
        for label, output, file, allowed in (
                ("Brightpearl", "BrightpearlSecretArn", self.brightpearl_file, None),
                ("Amazon", "AmazonSecretArn", self.amazon_file, AMAZON_ALLOWED)):
            arn, current = self._read_secret(output)
            given = _read_json_file(file) if file else {}
            if label == "Brightpearl":
                kind = str(given.get("auth") or current.get("auth") or "private")
                if kind not in BRIGHTPEARL_KEYS:
                    raise SetupError(f"Brightpearl credentials: auth {kind!r} is not 'private' or 'oauth'")
                allowed = BRIGHTPEARL_KEYS[kind]
            assert allowed is not None
            _refuse_unknown(label, given, allowed)
            merged = {**current, **given}
            missing = _missing(label, merged)
            if missing:
                raise SetupError(f"{label} secret lacks {', '.join(missing)}: give them with "
                                 f"--{label.lower()} FILE (a JSON object; keys already there are kept)")
            if merged != current:
                self.t.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=json.dumps(merged))
                changed.append(f"{label}: set {', '.join(sorted(k for k in given if current.get(k) != given[k]))}")
            step.detail[label.lower()] = {"secret": arn, "keys": sorted(merged)}
        _, webhook = self._read_secret("WebhookSecretArn")
        if not webhook.get("webhook_token"):
            raise SetupError("the webhook secret has no webhook_token (the stack generates it): restore it or "
                             "redeploy; every webhook is refused (503) until it is back")
        step.status = CHANGED if changed else OK
        step.summary = "; ".join(changed) if changed else "both secrets complete, nothing to change"
        step.summary += " (webhook_token kept)"
        return step

    # -------------------------------------------------------------- webhook
    def _brightpearl(self) -> Brightpearl:
        _, secret = self._read_secret("BrightpearlSecretArn")
        if _missing("Brightpearl", secret):
            raise SetupError("the Brightpearl secret is incomplete: run `connector setup secrets` first")
        return Brightpearl(self.t.endpoints()["brightpearl"], self.output("BrightpearlAccount"), secret)

    def _webhook_uri(self) -> tuple[str, str]:
        _, webhook = self._read_secret("WebhookSecretArn")
        token = webhook.get("webhook_token")
        if not token:
            raise SetupError("the webhook secret has no webhook_token: run `connector setup secrets`")
        base = self.output("WebhookBaseUrl").rstrip("/")
        return base, f"{base}/{token}"

    def _registration(self, uri: str) -> dict[str, Any]:
        return {"subscribeTo": WEBHOOK_EVENT, "httpMethod": "POST", "uriTemplate": uri, "bodyTemplate": WEBHOOK_BODY,
                "contentType": "application/json", "idSetAccepted": True, "qualityOfService": 1}

    def _hooks(self, bp: Brightpearl) -> list[dict[str, Any]]:
        return [h for h in (bp.call("GET", "integration-service/webhook", missing_ok=True) or [])
                if isinstance(h, dict)]

    def webhook(self) -> Step:
        bp = self._brightpearl()
        base, uri = self._webhook_uri()
        wanted = self._registration(uri)
        ours, removed = None, []
        for hook in self._hooks(bp):
            if hook.get("subscribeTo") != WEBHOOK_EVENT or not str(hook.get("uriTemplate", "")).startswith(base + "/"):
                continue  # another integration's webhook: not ours to touch
            same = all(hook.get(k) == v for k, v in wanted.items())
            if same and ours is None:
                ours = hook
                continue
            # Ours with an old token (answers 403), different settings, or a duplicate: remove it.
            bp.call("DELETE", f"integration-service/webhook/{hook['id']}", missing_ok=True)
            removed.append(int(hook["id"]))
        if ours is None:
            hook_id = int(bp.call("POST", "integration-service/webhook", wanted))
            status, summary = CHANGED, f"registered webhook {hook_id}"
        else:
            hook_id = int(ours["id"])
            status, summary = OK, f"webhook {hook_id} already registered"
        # Verify: Brightpearl holds exactly what the connector expects.
        [stored] = bp.call("GET", f"integration-service/webhook/{hook_id}")
        wrong = [k for k, v in wanted.items() if stored.get(k) != v]
        if wrong:
            raise SetupError(f"Brightpearl stored webhook {hook_id} with other {', '.join(wrong)} than registered")
        if removed:
            status, summary = CHANGED, summary + f"; removed {len(removed)} stale registration(s) {removed}"
        return Step("webhook", status, summary + f" → {base}/<webhook_token>",
                    detail={"webhookId": hook_id, "removed": removed, "event": WEBHOOK_EVENT})

    # -------------------------------------------------------------- SP-API notifications
    def _spapi(self) -> SpApi:
        _, secret = self._read_secret("AmazonSecretArn")
        if _missing("Amazon", secret):
            raise SetupError("the Amazon secret is incomplete: run `connector setup secrets` first")
        ends = self.t.endpoints()
        return SpApi(ends["spapi"], ends["lwa"], secret)

    def _destination(self, api: SpApi, arn: str) -> str | None:
        _status, data = api.call("GET", "/notifications/v1/destinations", grantless=True)
        for dest in data.get("payload") or []:
            if ((dest.get("resource") or {}).get("sqs") or {}).get("arn") == arn:
                return str(dest["destinationId"])
        return None

    def notifications(self) -> Step:
        api = self._spapi()
        arn = self.output("NotificationsQueueArn")
        changed: list[str] = []
        dest_id = self._destination(api, arn)
        if dest_id is None:
            code, data = api.call("POST", "/notifications/v1/destinations", grantless=True, body={
                "name": f"brightpearl-amazon-connector {arn.rsplit(':', 1)[-1]}"[:256],
                "resourceSpecification": {"sqs": {"arn": arn}}})
            if code == 409:  # created meanwhile (another run): find it
                dest_id = self._destination(api, arn)
                if dest_id is None:
                    raise SetupError(f"createDestination answered 409 but no destination has {arn}: {data}")
            else:
                dest_id = str(data["payload"]["destinationId"])
                changed.append(f"destination {dest_id} created")
        subs: dict[str, str] = {}
        warnings: list[str] = []
        for kind, version in SUBSCRIPTIONS:
            sub, note = self._subscription(api, kind, version, dest_id)
            if sub:
                subs[kind] = sub
            if note.startswith("!"):
                warnings.append(note[1:])
            elif note:
                changed.append(note)
        todo = [*warnings, "LISTINGS_ITEM_* notifications come through EventBridge: associate the SP-API "
                           "partner event source with an event bus and redeploy with SpApiEventBusName (README)"]
        status = WARNING if warnings else CHANGED if changed else OK
        summary = "; ".join(changed) if changed else f"destination {dest_id} and {len(subs)} subscription(s) in place"
        return Step("notifications", status, summary, todo=todo,
                    detail={"destinationId": dest_id, "subscriptions": subs})

    def _subscription(self, api: SpApi, kind: str, version: str, dest_id: str) -> tuple[str | None, str]:
        """(subscription id, what was done: "" nothing, "!…" a warning)."""
        path = f"/notifications/v1/subscriptions/{kind}"
        for _attempt in range(2):
            status, data = api.call("GET", path, params={"payloadVersion": version})
            if status == 200:
                sub = data.get("payload") or {}
                if sub.get("destinationId") == dest_id:
                    return str(sub["subscriptionId"]), ""
                if not self.replace_subscriptions:
                    return None, (f"!{kind} is subscribed to destination {sub.get('destinationId')}, not this "
                                  f"stack's {dest_id} (Amazon allows one per type): rerun with "
                                  "--replace-subscriptions to move it here")
                api.call("DELETE", f"{path}/{sub['subscriptionId']}")
            status, data = api.call("POST", path, body={"payloadVersion": version, "destinationId": dest_id})
            if status == 200:
                sub_id = str(data["payload"]["subscriptionId"])
                return sub_id, f"subscribed {kind} ({sub_id})"
            # 409: one subscription per type already exists (made meanwhile): read it again and reuse it.
        raise SetupError(f"createSubscription {kind} kept answering 409 and getSubscription found none")

    # -------------------------------------------------------------- SES and SNS
    def ses(self) -> Step:
        ses = self.t.client("ses")
        sender = self.output("SesSender")
        recipients = [r.strip() for r in self.outputs.get("AlertRecipients", "").split(",") if r.strip()]
        identities = sorted({sender, sender.split("@", 1)[1], *recipients, *(r.split("@", 1)[1] for r in recipients)})
        attrs = ses.get_identity_verification_attributes(Identities=identities)["VerificationAttributes"]

        def verified(address: str) -> bool:
            return any((attrs.get(i) or {}).get("VerificationStatus") == "Success"
                       for i in (address, address.split("@", 1)[1]))

        if not verified(sender):
            raise SetupError(f"SES sender {sender} is not verified: `aws sesv2 create-email-identity "
                             f"--email-identity {sender}` (or its domain) and click the link SES sends")
        sandbox = _ses_sandbox(self.t)
        todo: list[str] = []
        detail: dict[str, Any] = {"sender": sender, "sandbox": sandbox}
        if sandbox is not False:
            unverified = [r for r in recipients if not verified(r)]
            detail["unverifiedRecipients"] = unverified
            if unverified:
                todo.append(f"SES is in the sandbox{'' if sandbox else ' (probably: 200 emails a day)'}: verify "
                            f"{', '.join(unverified)} (aws sesv2 create-email-identity --email-identity ADDRESS) or "
                            "request production access (SES console → Account dashboard)")
        pending = _alarm_subscription(self.t)
        detail["alarmEmail"] = pending
        if pending != "confirmed":
            todo.append(f"alarm topic email subscription: {pending} — confirm the link SNS sent to OperatorEmail")
        return Step("ses", WARNING if todo else OK, f"sender {sender} verified"
                    + ("; sandbox" if sandbox else "" if sandbox is False else "; sandbox unknown"),
                    todo=todo, detail=detail)

    # -------------------------------------------------------------- the health check
    def check(self) -> Step:
        with self.t.quiet():
            return self._check()

    def _check(self) -> Step:
        detail: dict[str, Any] = {}
        failures: list[str] = []
        try:
            detail["webhook"] = self._check_webhook()
        except SetupError as exc:
            failures.append(f"webhook path: {exc}")
        try:
            detail["notification"] = self._check_notification()
        except SetupError as exc:
            failures.append(f"notifications path: {exc}")
        if failures:
            return Step("check", FAILED, "; ".join(failures), detail=detail)
        hook, note = detail["webhook"], detail["notification"]
        return Step("check", OK, f"Brightpearl's test call for webhook {hook['webhookId']} (product "
                                 f"{hook['probeProduct']}) went {hook['via']}"
                                 + (f" (correlation id {hook['correlationId']})" if hook.get("correlationId") else "")
                                 + f"; SP-API report {note['reportId']}'s notification went {note['via']}",
                    detail=detail)

    def _check_webhook(self) -> dict[str, Any]:
        bp = self._brightpearl()
        _, uri = self._webhook_uri()
        ours = [h for h in self._hooks(bp) if h.get("subscribeTo") == WEBHOOK_EVENT and h.get("uriTemplate") == uri]
        if not ours:
            raise SetupError("no Brightpearl webhook points at this stack: run `connector setup webhook`")
        probe = self.probe_product or 1
        since = time.time()
        # Brightpearl's own test call for the registration: the same path as a real stock change.
        bp.call("POST", f"integration-service/webhook/{ours[0]['id']}/simulate", {"testData": {
            "${account-code}": self.output("BrightpearlAccount"), "${resource-type}": "product",
            "${resource-id}": str(probe), "${lifecycle-event}": "modified",
            "${resource-specifier}": "on-hand-modified", "${full-event}": WEBHOOK_EVENT,
            "${raised-on}": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}})

        def match(body: str) -> bool:
            try:
                return probe in _id_set(str(json.loads(body).get("idSet", "")))
            except (ValueError, AttributeError):
                return False

        found = self.t.await_message(STOCK_CHANGE_PATH, since, match, min(self.timeout, 120))
        if not found:
            raise SetupError(f"Brightpearl's test call for webhook {ours[0]['id']} (product {probe}) did not reach "
                             f"the stock-change queue and its consumer within {min(self.timeout, 120):.0f} s: see "
                             "the API's access log and BrightpearlWebhookFunction's log")
        return {"webhookId": int(ours[0]["id"]), "probeProduct": probe, **found}

    def _check_notification(self) -> dict[str, Any]:
        api = self._spapi()
        marketplace = self.output("AmazonMarketplaceIds").split(",")[0]
        since = time.time()
        status, data = api.call("POST", "/reports/2021-06-30/reports",
                                body={"reportType": PROBE_REPORT, "marketplaceIds": [marketplace]})
        if status != 202 and status != 200:
            raise SetupError(f"createReport {PROBE_REPORT}: HTTP {status} {data}")
        report_id = str(data["reportId"])
        seen = {"status": "IN_QUEUE", "at": 0.0}

        def tick() -> None:  # the report's status, at most every 2 s (getReport: 2/s)
            if time.monotonic() - seen["at"] >= 2:  # type: ignore[operator]
                _, rep = api.call("GET", f"/reports/2021-06-30/reports/{report_id}")
                seen.update(status=str(rep.get("processingStatus")), at=time.monotonic())

        found = self.t.await_message(NOTIFICATION_PATH, since, lambda body: f'"{report_id}"' in body,
                                     self.timeout, tick)
        if not found:
            raise SetupError(f"no REPORT_PROCESSING_FINISHED for probe report {report_id} (Amazon says "
                             f"{seen['status']}) within {self.timeout:.0f} s: check `connector setup "
                             "notifications` and the queue policy")
        return {"reportId": report_id, "reportType": PROBE_REPORT, **found}


# ------------------------------------------------------------------------------ helpers
def _read_json_file(file: Path) -> dict[str, Any]:
    import sys

    text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SetupError(f"{file}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise SetupError(f"{file}: a JSON object is expected, got a JSON {type(value).__name__}")
    return value


def _refuse_unknown(label: str, given: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in given:
        if key not in allowed:
            near = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(allowed)})"
            where = " — it lives in the webhook secret, generated by the stack" if key == "webhook_token" else ""
            raise SetupError(f"{label} credentials: unknown key {key!r}{hint}{where}; nothing was changed")
        if not isinstance(given[key], (str, int, float)) or given[key] == "":
            raise SetupError(f"{label} credentials: {key!r} must be a non-empty string; nothing was changed")


def _missing(label: str, secret: dict[str, Any]) -> list[str]:
    if label == "Amazon":
        return [k for k in AMAZON_KEYS if not secret.get(k)]
    if secret.get("auth", "private") == "oauth":
        return [k for k in ("app_ref", "dev_ref", "client_id", "refresh_token") if not secret.get(k)]
    out = [] if secret.get("app_ref") else ["app_ref"]
    token = secret.get("account_token") or secret.get("staff_token")
    return out + ([] if token else ["account_token (or staff_token)"])


def _id_set(text: str) -> set[int]:
    out: set[int] = set()
    for part in filter(None, text.split(",")):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def _ses_sandbox(t: Transport) -> bool | None:
    """True/False from SES v2's account; None when it cannot say (falls back to the sandbox quota: 200/day)."""
    try:
        return not bool(t.client("sesv2").get_account()["ProductionAccessEnabled"])
    except (ClientError, KeyError, NotImplementedError):
        pass
    try:
        return float(t.client("ses").get_send_quota()["Max24HourSend"]) <= 200
    except (ClientError, KeyError):
        return None


def _alarm_subscription(t: Transport) -> str:
    try:
        topic = t.topic_arn("AlarmTopic")
    except Exception:  # a missing topic is reported, not raised
        return "no alarm topic found"
    subs = t.client("sns").list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    email = [s for s in subs if s.get("Protocol") == "email"]
    if not email:
        return "no email subscription"
    return "pending confirmation" if any(s.get("SubscriptionArn") == "PendingConfirmation" for s in email) \
        else "confirmed"
