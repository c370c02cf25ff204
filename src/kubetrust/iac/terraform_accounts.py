"""Which account and region a planned resource lives in.

The plan's ARN says it when known. Before the first apply it usually is not, so the provider
configuration the resource uses says it next: ``assume_role.role_arn``'s account (the
multi-account pattern: one ``aws`` provider per account, aliased, each assuming a role
there), else ``allowed_account_ids`` when it names one account. Last, ``--account-map``
names it per provider key (``aws.target``) or module (``module.target``). A resource none
of these place is an error that says so and how to fix it — never a guess (reference I.1).

Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubetrust import arn, errors
from kubetrust.iac.terraform_plan import PlanDocument, PlanResource, items

__all__ = ["Placement"]


class Placement:
    """Accounts and regions of one plan's resources (module doc)."""

    def __init__(self, plan: PlanDocument, account_map: Mapping[str, str]) -> None:
        self.plan = plan
        self.account_map = dict(account_map)
        for key, account in self.account_map.items():
            if not arn.is_account_id(account) and not account.startswith("arn:"):
                raise errors.InputError(
                    f"--account-map {key}={account}: the account must be 12 digits"
                )

    def provider_key(self, resource: PlanResource) -> str:
        """The ``provider_config`` key the resource uses (module-local keys resolved to the
        configuration they inherit, as Terraform's own normalization does)."""
        key = self.plan.config_of(resource).get("provider_config_key")
        if not isinstance(key, str):
            local = resource.type.split("_", 1)[0]
            key = f"{resource.module}:{local}" if resource.module else local
        while key not in self.plan.providers and ":" in key:
            module, _, name = key.rpartition(":")
            parent = module.rpartition(".module.")[0] if ".module." in module else ""
            key = f"{parent}:{name}" if parent else name
        return key

    def provider(self, resource: PlanResource) -> Mapping[str, Any]:
        found = self.plan.providers.get(self.provider_key(resource))
        return found if isinstance(found, Mapping) else {}

    def _constant(self, expression: object) -> object:
        """A provider expression's value: a constant, or a root variable's value."""
        if isinstance(expression, list):
            expression = expression[0] if expression else None
        if not isinstance(expression, Mapping):
            return None
        if "constant_value" in expression:
            return expression["constant_value"]
        variables = self.plan.data.get("variables")
        for ref in items(expression.get("references")):
            if isinstance(ref, str) and ref.startswith("var.") and isinstance(variables, Mapping):
                found = variables.get(ref.removeprefix("var."))
                if isinstance(found, Mapping) and "value" in found:
                    return found["value"]
        return None

    def _provider_account(self, resource: PlanResource) -> str | None:
        expressions = self.provider(resource).get("expressions") or {}
        assume = expressions.get("assume_role")
        if isinstance(assume, list) and assume and isinstance(assume[0], Mapping):
            role_arn = self._constant(assume[0].get("role_arn"))
            if isinstance(role_arn, str):
                try:
                    return arn.parse(role_arn).account
                except errors.InvalidArnError:
                    pass
        allowed = self._constant(expressions.get("allowed_account_ids"))
        if isinstance(allowed, list) and len(allowed) == 1 and arn.is_account_id(str(allowed[0])):
            return str(allowed[0])
        return None

    def _mapped(self, resource: PlanResource) -> str | None:
        key = self.provider_key(resource)
        if key in self.account_map:
            return self.account_map[key]
        modules = [m for m in self.account_map if m.startswith("module.")]
        for module in sorted(modules, key=len, reverse=True):
            if resource.module == module or resource.module.startswith(
                (module + ".", module + "[")
            ):
                return self.account_map[module]
        return None

    def account(self, resource: PlanResource, known_arn: object = None) -> str:
        """The resource's account (module doc); raises :class:`errors.InputError` naming the
        resource when nothing says it."""
        if isinstance(known_arn, str) and known_arn.startswith("arn:"):
            try:
                parsed = arn.parse(known_arn)
                if arn.is_account_id(parsed.account):
                    return parsed.account
            except errors.InvalidArnError:
                pass
        found = self._provider_account(resource) or self._mapped(resource)
        if found is not None and arn.is_account_id(found):
            return found
        key = self.provider_key(resource)
        raise errors.InputError(
            f"{self.plan.file}: {resource.address}: cannot tell its AWS account: its ARN is "
            f"known only after apply and provider `{key}` has no `assume_role.role_arn` or "
            f"single `allowed_account_ids`; give --account-map {key}=ACCOUNT"
            + (f" (or --account-map {resource.module}=ACCOUNT)" if resource.module else "")
        )

    def region(self, resource: PlanResource, known_arn: object = None) -> str | None:
        """The resource's region: its ARN's, else its provider's ``region``; ``None`` when
        neither says (the caller warns)."""
        if isinstance(known_arn, str) and known_arn.startswith("arn:"):
            try:
                region = arn.parse(known_arn).region
                if region:
                    return region
            except errors.InvalidArnError:
                pass
        value = self._constant((self.provider(resource).get("expressions") or {}).get("region"))
        return value if isinstance(value, str) and value else None

    def require_region(self, resource: PlanResource) -> str:
        """The region of a resource whose ARN holds it (an EKS cluster): an
        :class:`errors.InputError` when the plan does not say it. Terraform takes a provider
        without ``region`` from the environment (``AWS_REGION``, the profile), which the plan
        does not record; a guessed region would make every policy naming the cluster's ARN
        look wrong (reference I.1)."""
        region = self.region(resource)
        if region is not None:
            return region
        key = self.provider_key(resource)
        raise errors.InputError(
            f"{self.plan.file}: {resource.address}: cannot tell its region: provider `{key}` "
            "sets no `region` (Terraform took it from the environment, which the plan does "
            f"not record); set `region` in the provider block"
        )

    def mapped_cluster(self, key: str) -> str | None:
        """``--account-map kubernetes.target=CLUSTER_ARN``: the cluster a Kubernetes
        provider talks to, when its configuration does not say."""
        value = self.account_map.get(key)
        return value if value is not None and value.startswith("arn:") else None
