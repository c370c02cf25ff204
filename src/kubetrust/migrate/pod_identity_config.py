"""The pod's AWS config file, moved from IRSA's web identity to Pod Identity (pure).

Under IRSA a chained pod's profiles read the projected token: ``role_arn = <role>`` +
``web_identity_token_file`` (the source profile, the seed's ``ci-env``) and, per target,
``role_arn = <target>`` + ``source_profile = ci-env``. Under Pod Identity the webhook
mounts no IRSA token (a service account with an association gets the container
credentials only, reference F.2/F.6), so those profiles would fail. The credentials the
pod holds instead come from the container provider, which botocore consults whatever the
profile (after the profile's own keys, reference G.1):

- the source profile (web identity into a migrated role without a target role) loses its
  ``role_arn``, ``web_identity_token_file`` and ``role_session_name``: an empty profile
  gives the container credentials, which are that role's session — the same identity;
- a profile chaining from it (``source_profile``) gets ``credential_source = EcsContainer``
  instead: it assumes its role from the container credentials, as kubetrust's own Pod
  Identity configs do (:func:`kubetrust.provision.desired.aws_config`);
- with a target role, the pod's container credentials already are the target's: a profile
  assuming that target from the source profile becomes an empty profile.

Only a ConfigMap kubetrust knows (a spec's ``awsConfigMap``) is rewritten; the edit is
journalled with the whole ``data`` before.
"""

from __future__ import annotations

import configparser
from collections.abc import Mapping
from dataclasses import dataclass, field

from kubetrust.provision import documents

CONFIG_KEY = "config"
"""The ConfigMap key kubetrust writes the AWS config under."""
IRSA_KEYS = ("role_arn", "web_identity_token_file", "role_session_name")
CHAIN_KEYS = ("role_arn", "source_profile", "role_session_name")


@dataclass(frozen=True, slots=True)
class PodConfig:
    """The pod's AWS config ConfigMap as read (``data`` ``None``: it does not exist)."""

    namespace: str
    name: str
    data: Mapping[str, str] | None = None
    key: str = CONFIG_KEY


@dataclass(frozen=True, slots=True)
class ConfigEdit:
    namespace: str
    name: str
    before: Mapping[str, str]
    after: Mapping[str, str]
    notes: tuple[str, ...] = field(default=())


Profiles = list[tuple[str, dict[str, str]]]


def parse(text: str) -> Profiles:
    """``[profile NAME]`` / ``[default]`` sections and their keys, in order."""
    parser = configparser.ConfigParser(
        interpolation=None, strict=False, default_section="kubetrust:no-default"
    )
    try:
        parser.read_string(text)
    except configparser.Error as error:
        raise ValueError(f"not an AWS config file: {error}") from None
    return [
        (section.removeprefix("profile ").strip(), dict(parser[section]))
        for section in parser.sections()
    ]


def profiles_acting_as(pod_config: PodConfig | None, role_arn: str) -> list[str]:
    """The profiles that are the role itself through web identity (the source profile)."""
    profiles = _profiles(pod_config)
    return [
        name
        for name, keys in profiles
        if keys.get("web_identity_token_file") and _same_arn(keys.get("role_arn"), role_arn)
    ]


def _profiles(pod_config: PodConfig | None) -> Profiles:
    if pod_config is None or pod_config.data is None:
        return []
    text = pod_config.data.get(pod_config.key)
    if not text:
        return []
    try:
        return parse(text)
    except ValueError:
        return []


def _same_arn(left: str | None, right: str) -> bool:
    return bool(left) and str(left).lower() == right.lower()


def rewrite(pod_config: PodConfig | None, roles: Mapping[str, str | None]) -> ConfigEdit | None:
    """The config after the migration of ``roles`` (role → its target role, module doc),
    or ``None`` when nothing changes or there is no config to change."""
    if pod_config is None or pod_config.data is None:
        return None
    text = pod_config.data.get(pod_config.key)
    if not text:
        return None
    try:
        profiles = parse(text)
    except ValueError as error:
        note = f"{pod_config.namespace}/{pod_config.name}: {error}; not changed"
        return ConfigEdit(
            pod_config.namespace, pod_config.name, pod_config.data, pod_config.data, (note,)
        )
    rewritten, notes = _rewritten(profiles, roles)
    if rewritten == profiles:
        return None
    after = {**pod_config.data, pod_config.key: documents.aws_config(rewritten)}
    return ConfigEdit(
        pod_config.namespace, pod_config.name, dict(pod_config.data), after, tuple(notes)
    )


def _rewritten(profiles: Profiles, roles: Mapping[str, str | None]) -> tuple[Profiles, list[str]]:
    lowered = {role.lower(): target for role, target in roles.items()}
    sources: dict[str, str | None] = {}
    notes: list[str] = []
    result: Profiles = []
    for name, original in profiles:
        keys = original
        role = str(keys.get("role_arn", "")).lower()
        if keys.get("web_identity_token_file") and role in lowered:
            target = lowered[role]
            sources[name] = target
            if target is None:
                keys = {k: v for k, v in keys.items() if k not in IRSA_KEYS}
            else:
                notes.append(
                    f"profile `{name}` acted as `{keys['role_arn']}`, which the pod no longer "
                    f"holds with targetRoleArn `{target}`: left as is (it fails now)"
                )
        result.append((name, keys))
    final: Profiles = []
    for name, kept in result:
        keys = kept
        source = keys.get("source_profile")
        if source in sources:
            target = sources[source]
            if target is None:
                keys = {k: v for k, v in keys.items() if k != "source_profile"}
                keys["credential_source"] = documents.CONTAINER_CREDENTIALS
            elif _same_arn(keys.get("role_arn"), target):
                keys = {k: v for k, v in keys.items() if k not in CHAIN_KEYS}
        final.append((name, keys))
    return final, notes
