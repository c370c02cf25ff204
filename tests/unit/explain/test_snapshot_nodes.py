"""``snapshot_nodes.imds_settings``: a launch template version's ``MetadataOptions`` into
``nodes.json``'s ``imds``. The sandbox serves no EC2 API, so the answer is botocore's
``Stubber`` on a real EC2 client: the request is validated against EC2's own service model
and nothing is sent."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from kubetrust.adapters import snapshot_nodes


def _ec2() -> Any:
    return boto3.client(
        "ec2",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
    )


def _version(options: dict[str, Any]) -> dict[str, Any]:
    data = {"MetadataOptions": options} if options else {}
    return {"LaunchTemplateVersions": [{"VersionNumber": 3, "LaunchTemplateData": data}]}


@pytest.mark.parametrize(
    ("options", "imds"),
    [
        (
            {"HttpTokens": "required", "HttpPutResponseHopLimit": 1, "HttpEndpoint": "enabled"},
            {"hop_limit": 1, "http_tokens": "required", "http_endpoint": "enabled"},
        ),
        ({"HttpPutResponseHopLimit": 2}, {"hop_limit": 2}),  # tokens left to EC2: unknown
        ({}, {}),
    ],
)
def test_metadata_options_of_the_node_groups_version(
    options: dict[str, Any], imds: dict[str, Any]
) -> None:
    ec2 = _ec2()
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_launch_template_versions",
            _version(options),
            {"LaunchTemplateId": "lt-0abc", "Versions": ["3"]},
        )
        assert snapshot_nodes.imds_settings(ec2, {"id": "lt-0abc", "version": "3"}) == imds


def test_a_template_named_without_version_reads_the_default() -> None:
    ec2 = _ec2()
    with Stubber(ec2) as stub:
        stub.add_response(
            "describe_launch_template_versions",
            _version({"HttpTokens": "optional"}),
            {"LaunchTemplateName": "workers", "Versions": ["$Default"]},
        )
        assert snapshot_nodes.imds_settings(ec2, {"name": "workers"}) == {"http_tokens": "optional"}
