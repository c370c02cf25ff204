"""The ``aws-auth`` ConfigMap: parse and encode, as tolerant as aws-iam-authenticator.

The ConfigMap ``kube-system/aws-auth`` carries three data keys, each a YAML *string*
(semantics reference D.3): ``mapRoles`` (role mappings), ``mapUsers`` (user mappings) and
``mapAccounts`` (account IDs whose every principal maps to its own ARN). The authenticator's
``configmap.ParseMap`` never rejects the ConfigMap as a whole: it keeps the good entries, drops
the bad ones and logs why. :func:`parse_aws_auth` does the same and returns the reasons as
:class:`Problem` values; :func:`encode_aws_auth` is its inverse.

What the authenticator does, and therefore what we do (``kubernetes-sigs/aws-iam-authenticator``:
``pkg/mapper/configmap/configmap.go`` ``ParseMap``/``EncodeMap``/``isSkippable``/``saveMap``,
``pkg/config/types.go``, ``pkg/config/mapper.go`` ``Validate``/``Matches``/``Key``):

- A data value that is blank, two backticks, ``""`` or ``''`` is skipped (PRs #618, #621).
- ``mapRoles``/``mapUsers`` go YAML → JSON (``sigs.k8s.io/yaml``, which hands JSON objects over
  with their keys sorted) → Go ``encoding/json``. Hence: field names match *ignoring case*
  (``RoLeArN`` works, ``yaml/aws-auth-crazy-case-keys.yaml``); unknown fields are ignored; a value
  of the wrong type leaves its field empty and the rest of the entry is kept (``groups:
  system:masters`` keeps the entry, with no groups); invalid YAML loses the whole key.
- An entry is then dropped only if ``Validate`` fails: a role mapping needs exactly one of
  ``rolearn`` and ``sso``; a user mapping needs ``userarn``. A missing ``username`` is accepted.
- ``mapAccounts`` goes through ``yaml.v2`` into ``[]string``, which keeps every scalar's literal
  text: an unquoted ``- 555555555555`` is the string ``"555555555555"``.
- Top-level data keys are case-sensitive: ``mapusers`` is ignored.
- Role mappings are keyed by the lowercased ``rolearn``, so of two entries for one role the
  last wins; user mappings are keyed by the exact ``userarn``, matched ignoring case.

No YAML library is imported here (see the ``kubetrust.model`` docstring): the caller passes a
:class:`YamlCodec`. Fidelity gaps: the SSO matcher is behind the authenticator's alpha feature
gate ``SSORoleMatch`` (off by default); wildcard ``rolearn`` patterns are not supported upstream
(open PR #994) and are compared literally, as the authenticator does.

Layout: :mod:`.mappings` (the data model and lookups), :mod:`.decode` (parsing, on top of
:mod:`.go_json` and :mod:`.lints`), :mod:`.encode`.
"""

from __future__ import annotations

from .decode import decode_accounts, decode_role_mappings, decode_user_mappings, parse_aws_auth
from .encode import encode_aws_auth
from .mappings import (
    DATA_KEYS,
    MAP_ACCOUNTS,
    MAP_ROLES,
    MAP_USERS,
    SSO_PARTITIONS,
    AwsAuthMap,
    Problem,
    RoleMapping,
    SsoMatcher,
    UserMapping,
    YamlCodec,
    arn_like,
)

__all__ = [
    "DATA_KEYS",
    "MAP_ACCOUNTS",
    "MAP_ROLES",
    "MAP_USERS",
    "SSO_PARTITIONS",
    "AwsAuthMap",
    "Problem",
    "RoleMapping",
    "SsoMatcher",
    "UserMapping",
    "YamlCodec",
    "arn_like",
    "decode_accounts",
    "decode_role_mappings",
    "decode_user_mappings",
    "encode_aws_auth",
    "parse_aws_auth",
]
