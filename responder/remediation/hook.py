"""The optional emergency hook: tell another system (the seeds' autoscaler) to stop too.

A 2xx is done; a 5xx, 429, timeout or refused connection is retried by the engine with
backoff and then escalated; any other 4xx is a configuration mistake and is escalated at
once. The body names the alert instance, and the `Idempotency-Key` header is the same on every
attempt of one step and different for any other: a receiver that remembers the keys it has
acted on can ignore a repeat (a retry after a timeout, or a re-run after a restart, when the
first call may have landed without its answer coming back).
"""

import hashlib

import aiohttp

from responder.journal import Step, StepResult
from responder.policy import Hook
from responder.secrets import shown_url

MAX_ERROR_TEXT = 300
IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(step: Step) -> str:
    """The step's id and its alert instance (hashed: alert text never goes into a header)."""
    instance = hashlib.sha256(step.instance.holder.encode()).hexdigest()[:16]
    return f"alert-responder-{instance}-{step.id}"


async def call_hook(hook: Hook, step: Step, dry_run: bool) -> StepResult:
    inst = step.instance
    body = {
        "alert": inst.alertname,
        "fingerprint": inst.fingerprint,
        "startsAt": inst.starts_at,
        "severity": inst.severity,
        "summary": inst.annotations.get("summary", ""),
        "targets": step.params.get("targets", []),
    }
    if dry_run:
        return StepResult("succeeded", {"would": f"POST {shown_url(hook.url)}", "body": body, "changed": False})
    headers = {IDEMPOTENCY_HEADER: idempotency_key(step)}
    if hook.bearer_token:
        headers["Authorization"] = f"Bearer {hook.bearer_token.value}"
    timeout = aiohttp.ClientTimeout(total=hook.timeout_seconds)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(hook.url, json=body, headers=headers) as response,
        ):
            text = (await response.text(errors="replace"))[:MAX_ERROR_TEXT]
            detail = {"url": shown_url(hook.url), "status": response.status, "response": text}
            if 200 <= response.status < 300:
                return StepResult("succeeded", {**detail, "changed": True})
            if response.status == 429 or response.status >= 500:
                retry_after = response.headers.get("Retry-After", "")
                return StepResult("retry", detail, float(retry_after) if retry_after.isdigit() else None)
            return StepResult(
                "failed", {**detail, "error": f"the emergency hook refused the call ({response.status}); check its url"}
            )
    except ValueError as exc:  # a URL the client cannot use; the policy's check refuses most at load
        return StepResult(
            "failed", {"url": shown_url(hook.url), "error": f"the emergency hook's url: {type(exc).__name__}"}
        )
    except (aiohttp.ClientError, TimeoutError) as exc:
        said = str(exc).replace(hook.url, shown_url(hook.url))
        error = f"no answer from the emergency hook: {type(exc).__name__}: {said}"
        return StepResult("retry", {"url": shown_url(hook.url), "error": error})
