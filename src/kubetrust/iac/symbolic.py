"""Values known only after apply, kept symbolic (issue 16).

A plan does not know an EKS cluster's issuer before the cluster exists, nor the ARN of a role
it creates. kubetrust never guesses them: each becomes a *placeholder* — a valid-looking value
of its kind (an issuer URL, an ARN with every part the plan knows) carrying a token
``KNOWN-AFTER-APPLY-<hash>`` — so the rest of kubetrust parses it like any value, and two
inputs tied together by the plan (a cluster's issuer feeding its OIDC provider's URL and a
trust's condition key) carry the *same* token, so explain sees the chain tied as it will be.
:class:`Unknowns` records what each token stands for (``ADDRESS.ATTRIBUTE``); renderers show
the token as "known after apply (ADDRESS.ATTRIBUTE)" (:func:`describe`).

Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

__all__ = [
    "TOKEN_PREFIX",
    "Unknowns",
    "describe",
    "has_placeholder",
]

TOKEN_PREFIX = "KNOWN-AFTER-APPLY-"
_TOKEN = re.compile(re.escape(TOKEN_PREFIX) + r"[0-9A-F]{8}")


def has_placeholder(value: object) -> bool:
    """Whether ``value`` (a string) holds a placeholder token."""
    return isinstance(value, str) and TOKEN_PREFIX in value


class Unknowns:
    """The placeholders made while reading one input, and what each stands for."""

    def __init__(self) -> None:
        self._meaning: dict[str, str] = {}

    def token(self, origin: str) -> str:
        """The token standing for ``origin`` (``aws_eks_cluster.ci.identity[0].oidc[0].issuer``):
        the same origin always gives the same token."""
        digest = hashlib.sha256(origin.encode()).hexdigest()[:8].upper()
        token = f"{TOKEN_PREFIX}{digest}"
        self._meaning.setdefault(token, origin)
        return token

    def issuer(self, origin: str, region: str) -> str:
        """An EKS issuer URL whose id is known after apply (reference C.1: the issuer is
        ``https://oidc.eks.<region>.amazonaws.com/id/<id>``)."""
        return f"https://oidc.eks.{region}.amazonaws.com/id/{self.token(origin)}"

    def text(self, origin: str) -> str:
        """A string value known after apply, of no particular shape."""
        return self.token(origin)

    def as_mapping(self) -> Mapping[str, str]:
        """Token → ``ADDRESS.ATTRIBUTE``, for :class:`kubetrust.iac.model.SourceMap`."""
        return dict(self._meaning)


def describe(text: str, unknowns: Mapping[str, str]) -> str:
    """``text`` with every placeholder token shown as "known after apply (ORIGIN)"; an issuer
    URL or host holding one is shown whole as that, since its visible parts are not news."""
    if TOKEN_PREFIX not in text:
        return text

    def shown(match: re.Match[str]) -> str:
        token = match.group("token")
        origin = unknowns.get(token)
        return f"known after apply ({origin})" if origin else "known after apply"

    issuer = re.compile(
        r"(?:https://)?oidc\.eks\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/id/(?P<token>"
        + _TOKEN.pattern
        + ")"
    )
    text = issuer.sub(shown, text)
    return re.sub("(?P<token>" + _TOKEN.pattern + ")", shown, text)
