"""The authenticator's username and group templates (``renderTemplate``, D.3), and the
identity built from them: a template that cannot be rendered denies the caller.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from kubetrust import errors
from kubetrust.chain.access_entries import AccessGrant
from kubetrust.chain.kube_caller import Caller, KubeIdentity, NotMapped

_INSTANCE_ID = re.compile(r"i-(\w{8}|\w{17})\Z", re.ASCII)
_EC2_DNS = "{{EC2PrivateDNSName}}"


class TemplateError(errors.KubetrustError):
    """A username or group template that cannot be rendered (the caller is then not mapped).

    Raised only by :func:`render_template`; the mappers turn it into a :class:`NotMapped`, as
    the authenticator denies a caller whose templates fail to render.
    """


def render_template(template: str, caller: Caller) -> str:
    """Expand the authenticator's templates in one username or group (``renderTemplate``, D.3).

    ``{{AccountID}}`` → the account; ``{{SessionName}}`` → the session name with every ``@``
    replaced by ``-``; ``{{SessionNameRaw}}`` → the session name as is; ``{{AccessKeyID}}`` →
    the signing access key. Replacements happen in that order, on the whole string.
    ``{{EC2PrivateDNSName}}`` is replaced first, as the authenticator does, by the private DNS
    name of the instance the session name names: it raises :class:`TemplateError` with the
    authenticator's reason when the session name is not an instance ID, and when the caller
    carries no :attr:`Caller.private_dns_name` (the authenticator's ``ec2:DescribeInstances``
    lookup, which kubetrust does not emulate: only the migration proof supplies a name).
    """
    rendered = template
    if _EC2_DNS in template:
        if not _INSTANCE_ID.match(caller.session_name):
            raise TemplateError("SessionName did not contain an instance id")
        if not caller.private_dns_name:
            raise TemplateError(
                f"{_EC2_DNS} needs ec2:DescribeInstances, which kubetrust does not emulate"
            )
        rendered = template.replace(_EC2_DNS, caller.private_dns_name)
    rendered = rendered.replace("{{AccountID}}", caller.account)
    rendered = rendered.replace("{{SessionName}}", caller.session_name.replace("@", "-"))
    rendered = rendered.replace("{{SessionNameRaw}}", caller.session_name)
    return rendered.replace("{{AccessKeyID}}", caller.access_key_id)


def identity_from_templates(
    caller: Caller,
    username: str,
    groups: Sequence[str],
    via: str,
    grants: tuple[AccessGrant, ...] = (),
) -> KubeIdentity | NotMapped:
    """Render the templates and build the identity; a render failure denies (``doMapping``)."""
    try:
        rendered = render_template(username, caller)
        rendered_groups = tuple(render_template(group, caller) for group in groups)
    except TemplateError as error:
        return NotMapped(f"{via}: cannot render the templates: {error}")
    return KubeIdentity(rendered, rendered_groups, caller.uid, via, caller.extra(), grants)
