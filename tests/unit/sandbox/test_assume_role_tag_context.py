"""One AssumeRole call, one request context: the tags passed are in the context of the
assume action as well as of ``sts:TagSession`` (reference B.4), for the sandbox's STS and
explain alike (both decide with :func:`kubetrust.chain.sts.assume_role`)."""

from __future__ import annotations

import json

from kubetrust.chain import sts as hops
from kubetrust.policy import sts as sts_requests

ROLE = "arn:aws:iam::222222222222:role/tagged"
CALLER = "arn:aws:iam::111111111111:user/alice"
ALLOW_ALL = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": CALLER},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}},
            }
        ],
    }
)


def _hop(tags: dict[str, str] | None) -> hops.HopResult:
    return hops.assume_role(
        CALLER,
        hops.CallerSide(identity=[ALLOW_ALL]),
        hops.RoleSide(ROLE, TRUST),
        session_name="s",
        tags=sts_requests.SessionTags(tags, ("team",)) if tags is not None else None,
    )


def test_every_check_of_the_call_sees_the_tags() -> None:
    requests = sts_requests.assume_role_requests(
        CALLER,
        ROLE,
        session_name="s",
        source_identity="me",
        tags=sts_requests.SessionTags({"team": "blue"}, ("team",)),
    )
    assert [r.action for r in requests] == [
        "sts:AssumeRole",
        "sts:TagSession",
        "sts:SetSourceIdentity",
    ]
    for request in requests:
        assert request.context["aws:RequestTag/team"] == "blue"
        assert request.context["aws:TagKeys"] == ["team"]
        assert request.context["sts:TransitiveTagKeys"] == ["team"]
    untagged = sts_requests.assume_role_requests(CALLER, ROLE, session_name="s")
    assert "aws:TagKeys" not in untagged[0].context


def test_request_tag_condition_on_both_actions() -> None:
    assert _hop({"team": "blue"}).allowed
    for tags in ({"team": "red"}, None, {}):
        hop = _hop(tags)
        assert not hop.allowed
        assert hop.failed is not None and hop.failed.action == "sts:AssumeRole"
