"""A cluster's managed node groups into the bundle's ``nodes.json`` — read-only.

What explain and audit need of the nodes (reference H.5): the instance role every pod may act
as through IMDS, and the IMDS settings that decide whether pods reach it.

- ``eks list-nodegroups`` (its paginator) and ``describe-nodegroup``: ``nodeRole`` and the
  node group's own ``launchTemplate`` (id or name, and version);
- ``ec2 describe-launch-template-versions`` of that version: ``MetadataOptions``
  (``HttpPutResponseHopLimit``, ``HttpTokens``, ``HttpEndpoint``).

A node group without a launch template of its own runs on one EKS generates, whose settings
the node group does not show; a launch template that leaves an option out gets EC2's
default for the AMI; a denied or unavailable EC2 call says nothing. In each case the
setting is left out of ``nodes.json`` — unknown, which explain and audit count as reachable
— and, for a call that failed, a warning says so. A cluster with no managed node group
gets no ``nodes.json``: self-managed nodes are not listed by EKS, so "none" would be a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

IMDS_OPTIONS = {
    "HttpPutResponseHopLimit": "hop_limit",
    "HttpTokens": "http_tokens",
    "HttpEndpoint": "http_endpoint",
}
"""``MetadataOptions`` fields → ``nodes.json``'s ``imds`` keys."""


class NodesUnread(Exception):
    """The node groups themselves could not be listed or described (their roles unknown)."""


def _failure(call: str, error: Exception) -> str:
    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        return f"{call}: {detail.get('Code', 'Unknown')}: {detail.get('Message', str(error))}"
    return f"{call}: {error}"


def read_nodes(eks: Any, ec2: Any, cluster: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``nodes.json`` entries of ``cluster``'s managed node groups (module doc), and
    warnings for settings left unknown. ``eks`` and ``ec2`` are boto3 clients of the
    cluster's region. Raises :class:`NodesUnread` when the node groups cannot be read."""
    try:
        names = [
            name
            for page in eks.get_paginator("list_nodegroups").paginate(clusterName=cluster)
            for name in page.get("nodegroups") or []
        ]
        groups = [
            eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
            for name in sorted(names)
        ]
    except (ClientError, BotoCoreError) as error:
        raise NodesUnread(_failure("eks:ListNodegroups/DescribeNodegroup", error)) from None
    entries: list[dict[str, Any]] = []
    warnings: list[str] = []
    for group in groups:
        entry: dict[str, Any] = {
            "nodegroup": str(group.get("nodegroupName") or ""),
            "instance_role_arn": str(group.get("nodeRole") or ""),
        }
        template = group.get("launchTemplate") or {}
        if template:
            entry["launch_template"] = dict(template)
            try:
                entry["imds"] = imds_settings(ec2, template)
            except (ClientError, BotoCoreError) as error:
                warnings.append(
                    f"node group {entry['nodegroup']}: "
                    f"{_failure('ec2:DescribeLaunchTemplateVersions', error)} "
                    "(its IMDS settings are unknown: counted as reachable by pods)"
                )
        entries.append(entry)
    return entries, warnings


def imds_settings(ec2: Any, template: Mapping[str, Any]) -> dict[str, Any]:
    """The ``imds`` of a launch template version (``describe-nodegroup``'s
    ``launchTemplate``: ``id`` or ``name``, and ``version``)."""
    query: dict[str, Any] = {"Versions": [str(template.get("version") or "$Default")]}
    if template.get("id"):
        query["LaunchTemplateId"] = str(template["id"])
    else:
        query["LaunchTemplateName"] = str(template.get("name") or "")
    answer = ec2.describe_launch_template_versions(**query)
    versions = answer.get("LaunchTemplateVersions") or [{}]
    options = (versions[0].get("LaunchTemplateData") or {}).get("MetadataOptions") or {}
    return {key: options[field] for field, key in IMDS_OPTIONS.items() if field in options}
