"""``connector --local-stack …``: a fresh local stack for the length of one command, as after ``sam deploy``.

moto (resources from template.yaml), both simulators seeded with the demo's world, the API Gateway
stand-in, and the Brightpearl and Amazon secrets empty (the webhook secret holds its generated token):
so a fresh clone can rehearse the README's deploy steps, e.g. ``setup`` with the simulators' credentials
in ``local/credentials/``, down to the health check. Amazon notifies only what is subscribed (as it
does), and its reports finish in seconds. Everything is gone when the command ends.
"""

from __future__ import annotations

import secrets
from typing import Any


def start() -> Any:
    from local.aws import put_secret
    from local.demo import BRIGHTPEARL, amazon_seed
    from local.stack import QUIET, start_stack
    from simulators.spapi.demo import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, UK

    stack = start_stack(marketplaces=(UK,), api=True, webhook_token=secrets.token_urlsafe(32), env=QUIET)
    try:
        stack.bp.seed(BRIGHTPEARL)
        stack.amazon.seed(amazon_seed(CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN))
        stack.amazon.configure(strict_subscriptions=True, timing={"report_queue": 1, "report_processing": 2})
        put_secret(stack.aws, "BrightpearlSecret", {})
        put_secret(stack.aws, "AmazonSecret", {})
    except BaseException:
        stack.stop()
        raise
    return stack
