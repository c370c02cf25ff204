"""Waiting for asynchronous EKS work with botocore's own waiters (reference H.2).

``CreateCluster`` answers a cluster in ``CREATING``, an update leaves it ``UPDATING``,
``CreateAddon`` an add-on in ``CREATING``; what apply does next needs them ``ACTIVE``.
botocore's waiters (``cluster_active``, ``addon_active``) know which states are success and
which are terminal failures; they poll at a fixed delay (30 s, 10 s) without telling anyone.
:func:`wait_for` keeps their acceptors but polls one attempt at a time, with backoff from one
second up to the waiter's own delay, says how long it has waited on each poll, and stops at
the waiter's own bound (its delay times its attempts: 20 minutes for a cluster, 10 for an
add-on) with a message that names the resource, its state and the command to look at it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import WaiterError

from kubetrust import errors
from kubetrust.provision import eventual

STILL_WAITING = "Max attempts exceeded"
"""botocore's reason when no acceptor decided yet; any other reason (a failure state, an
error answer the client did not retry) ends the wait."""


class NotReady(errors.KubetrustError):
    """An EKS resource did not become ready: a failure state, an error, or the bound."""


def _state(response: Any, path: tuple[str, str]) -> str:
    """The resource's ``status`` in a waiter's last response (an error's code instead)."""
    if not isinstance(response, dict):
        return "unknown"
    if "Error" in response:
        return str(response["Error"].get("Code", "an error"))
    return str((response.get(path[0]) or {}).get(path[1], "unknown"))


def wait_for(
    client: Any,
    waiter_name: str,
    what: str,
    look: str,
    progress: Callable[[str], None],
    *,
    budget: eventual.Budget | None = None,
    **params: Any,
) -> None:
    """Wait with ``client``'s waiter ``waiter_name`` (module doc); ``what`` names the
    resource in messages, ``look`` is the command to inspect it. Raises :class:`NotReady`."""
    waiter = client.get_waiter(waiter_name)
    path = ("cluster", "status") if waiter_name.startswith("cluster") else ("addon", "status")
    bound = float(waiter.config.delay * waiter.config.max_attempts)
    budget = budget or eventual.Budget(bound, max_delay=float(waiter.config.delay))

    def poll() -> WaiterError | None:
        try:
            waiter.wait(WaiterConfig={"Delay": 0, "MaxAttempts": 1}, **params)
        except WaiterError as error:
            if STILL_WAITING not in str(error):
                raise NotReady(
                    f"{what} will not become ACTIVE: it is {_state(error.last_response, path)} "
                    f"({error}); see `{look}`"
                ) from error
            return error
        return None

    def told(waited: float) -> None:
        progress(f"waiting for {what} to be ACTIVE (EKS is asynchronous) ... {waited:.0f} s")

    result = eventual.retry_while(poll, lambda error: error is not None, budget, told)
    if result.value is not None:
        state = _state(result.value.last_response, path)
        raise NotReady(
            f"{what} is still {state} after {result.waited:.0f} s (the bound of botocore's "
            f"`{waiter_name}` waiter); see `{look}` and run again once it is ACTIVE"
        )
