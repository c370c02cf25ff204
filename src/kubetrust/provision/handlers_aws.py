"""Plan and apply the IAM side: OIDC providers, roles, their inline and attached policies.

Rules of ownership (see :mod:`.resources`): a role or provider tagged by this spec is
converged to the spec, field by field; one tagged by another kubetrust spec or not tagged
at all is never changed: a role is then a conflict (kubetrust will not take over a role it
did not create), an OIDC provider is used as it is when it already accepts the STS audience
(providers are per issuer and account, and are commonly shared, e.g. made by eksctl).
Destroy deletes only what this spec's tags claim.
"""

from __future__ import annotations

from collections.abc import Mapping

from kubetrust.provision import documents
from kubetrust.provision.changes import Action, Change, unified
from kubetrust.provision.context import Context, Observer, missing_tags, ownership
from kubetrust.provision.resources import InlinePolicy, Item, ManagedPolicies, OidcProvider, Role


def _tags_text(tags: Mapping[str, str]) -> str:
    return "\n".join(f"tag {key}={value}" for key, value in sorted(tags.items()))


class OidcProviderHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        provider = item.resource
        assert isinstance(provider, OidcProvider)
        live = observer.ports.aws(provider.account).get_oidc_provider(provider.url)
        desired = "\n".join([f"url {provider.url}"] + [f"audience {a}" for a in provider.audiences])
        if live is None:
            text = f"{desired}\n{_tags_text(provider.tags)}"
            return Change(Action.CREATE, item, unified("", text, provider.key))
        missing = [a for a in provider.audiences if a not in live.client_ids]
        owner = ownership(live.tags, observer.spec_name)
        if owner == "foreign" and missing:
            return Change(
                Action.NOOP,
                item,
                live=live,
                conflict=f"exists, not managed by kubetrust, and lacks audience `{missing[0]}`",
            )
        tags = missing_tags(provider.tags, live.tags) if owner == "this" else {}
        if not missing and not tags:
            note = "" if owner == "this" else "exists, not created by this spec: used as it is"
            return Change(Action.NOOP, item, live=live, note=note)
        before = "\n".join([f"url {live.url}"] + [f"audience {a}" for a in live.client_ids])
        after = "\n".join([before] + [f"audience {a}" for a in missing])
        diff = unified(
            f"{before}\n{_tags_text(dict(live.tags))}",
            f"{after}\n{_tags_text({**live.tags, **tags})}",
            provider.key,
        )
        return Change(Action.UPDATE, item, diff, live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        provider = item.resource
        assert isinstance(provider, OidcProvider)
        live = observer.ports.aws(provider.account).get_oidc_provider(provider.url)
        if live is None:
            return Change(Action.NOOP, item)
        if ownership(live.tags, observer.spec_name) != "this":
            return Change(Action.NOOP, item, live=live, note="kept: not created by this spec")
        return Change(Action.DELETE, item, unified(f"url {live.url}", "", provider.key), live)

    def execute(self, change: Change, context: Context) -> int:
        provider = change.resource
        assert isinstance(provider, OidcProvider)
        port = context.ports.aws(provider.account)
        if change.action is Action.CREATE:
            port.create_oidc_provider(provider.url, provider.audiences, provider.tags)
            return 1
        live = change.live
        if change.action is Action.DELETE:
            port.delete_oidc_provider(live.arn)
            return 1
        writes = 0
        for audience in provider.audiences:
            if audience not in live.client_ids:
                port.add_oidc_client_id(live.arn, audience)
                writes += 1
        if ownership(live.tags, context.spec_name) == "this":
            tags = missing_tags(provider.tags, live.tags)
            if tags:
                port.tag_oidc_provider(live.arn, tags)
                writes += 1
        return writes


class RoleHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        role = item.resource
        assert isinstance(role, Role)
        live = observer.role(role.account, role.name)
        desired = _role_text(role.trust, role.max_session_duration, dict(role.tags))
        if live is None:
            return Change(Action.CREATE, item, unified("", desired, role.key))
        owner = ownership(live.tags, observer.spec_name)
        if owner != "this":
            who = (
                "another kubetrust spec" if owner == "other" else "someone else (no kubetrust tags)"
            )
            return Change(
                Action.NOOP, item, live=live, conflict=f"exists and belongs to {who}; not changed"
            )
        tags = missing_tags(role.tags, live.tags)
        same = (
            documents.canonical(role.trust) == documents.canonical(live.trust)
            and role.max_session_duration == live.max_session_duration
            and not tags
        )
        if same:
            return Change(Action.NOOP, item, live=live)
        before = _role_text(live.trust, live.max_session_duration, dict(live.tags))
        after = _role_text(role.trust, role.max_session_duration, {**live.tags, **tags})
        return Change(Action.UPDATE, item, unified(before, after, role.key), live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        role = item.resource
        assert isinstance(role, Role)
        live = observer.role(role.account, role.name)
        if live is None:
            return Change(Action.NOOP, item)
        if ownership(live.tags, observer.spec_name) != "this":
            return Change(Action.NOOP, item, live=live, note="kept: not created by this spec")
        lines = [f"role {live.arn}"] + [f"inline policy {n}" for n in sorted(live.inline)]
        lines += [f"attached {a}" for a in live.attached]
        return Change(Action.DELETE, item, unified("\n".join(lines), "", role.key), live=live)

    def execute(self, change: Change, context: Context) -> int:
        role = change.resource
        assert isinstance(role, Role)
        port = context.ports.aws(role.account)
        live = change.live
        if change.action is Action.CREATE:
            port.create_role(
                role.name, role.trust, role.max_session_duration, role.tags, role.description
            )
            return 1
        if change.action is Action.DELETE:
            for name in live.inline:
                port.delete_role_policy(role.name, name)
            for policy_arn in live.attached:
                port.detach_role_policy(role.name, policy_arn)
            port.delete_role(role.name)
            return len(live.inline) + len(live.attached) + 1
        writes = 0
        if documents.canonical(role.trust) != documents.canonical(live.trust):
            port.update_trust(role.name, role.trust)
            writes += 1
        if role.max_session_duration != live.max_session_duration:
            port.update_max_session_duration(role.name, role.max_session_duration)
            writes += 1
        tags = missing_tags(role.tags, live.tags)
        if tags:
            port.tag_role(role.name, tags)
            writes += 1
        return writes


def _role_text(trust: object, seconds: int, tags: dict[str, str]) -> str:
    return f"trust policy:\n{documents.canonical(trust)}\nmax session {seconds}\n" + _tags_text(
        tags
    )


class InlinePolicyHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        policy = item.resource
        assert isinstance(policy, InlinePolicy)
        role = observer.role(policy.account, policy.role_name)
        if role is not None and ownership(role.tags, observer.spec_name) != "this":
            return Change(Action.NOOP, item, note="role not managed by this spec")
        live = role.inline.get(policy.policy_name) if role is not None else None
        before = documents.canonical(live) if live is not None else ""
        after = documents.canonical(policy.document) if policy.document is not None else ""
        if before == after:
            return Change(Action.NOOP, item, live=live)
        action = Action.CREATE if not before else Action.DELETE if not after else Action.UPDATE
        return Change(action, item, unified(before, after, policy.key), live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        return None  # deleted with its role

    def execute(self, change: Change, context: Context) -> int:
        policy = change.resource
        assert isinstance(policy, InlinePolicy)
        port = context.ports.aws(policy.account)
        if policy.document is None:
            port.delete_role_policy(policy.role_name, policy.policy_name)
        else:
            port.put_role_policy(policy.role_name, policy.policy_name, policy.document)
        return 1


class ManagedPoliciesHandler:
    def observe(self, item: Item, observer: Observer) -> Change:
        policies = item.resource
        assert isinstance(policies, ManagedPolicies)
        role = observer.role(policies.account, policies.role_name)
        if role is not None and ownership(role.tags, observer.spec_name) != "this":
            return Change(Action.NOOP, item, note="role not managed by this spec")
        live = role.attached if role is not None else ()
        if sorted(live) == sorted(policies.arns):
            return Change(Action.NOOP, item, live=live)
        before, after = "\n".join(sorted(live)), "\n".join(sorted(policies.arns))
        action = Action.CREATE if not live else Action.UPDATE
        return Change(action, item, unified(before, after, policies.key), live=live)

    def observe_destroy(self, item: Item, observer: Observer) -> Change | None:
        return None  # detached when its role is deleted

    def execute(self, change: Change, context: Context) -> int:
        policies = change.resource
        assert isinstance(policies, ManagedPolicies)
        port = context.ports.aws(policies.account)
        live = tuple(change.live or ())
        writes = 0
        for policy_arn in policies.arns:
            if policy_arn not in live:
                port.attach_role_policy(policies.role_name, policy_arn)
                writes += 1
        for policy_arn in live:
            if policy_arn not in policies.arns:
                port.detach_role_policy(policies.role_name, policy_arn)
                writes += 1
        return writes
