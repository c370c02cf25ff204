"""The engine benchmark's workloads, shared by ``engine.py`` and its smoke test.

(a) one principal, a 12-statement identity policy with wildcards and one condition;
(b) the seed's cross-account AssumeRole: CI identity policy + target trust policy;
(c) a 200-statement identity set, 3 SCP levels, a permissions boundary and a resource
    policy.

Requests vary (actions, resources, context) so that caches keyed on the request alone
cannot answer; every workload mixes Allow, ExplicitDeny and ImplicitDeny outcomes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

CI = "111111111111"
TARGET = "222222222222"
USER = f"arn:aws:iam::{CI}:user/alice"
SESSION = f"arn:aws:sts::{CI}:assumed-role/ci-account-iam-role/botocore-session-1"
TARGET_ROLE = f"arn:aws:iam::{TARGET}:role/target-account-iam-role"


@dataclass(frozen=True)
class Workload:
    """A named workload: policies in the simulate-case shape and a list of requests."""

    name: str
    description: str
    policies: dict[str, Any]
    requests: list[dict[str, Any]]


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def twelve_statement_policy() -> dict[str, Any]:
    """Workload (a)'s identity policy: wildcards everywhere, one condition."""
    return _doc(
        {
            "Sid": "S3Read",
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:List*"],
            "Resource": ["arn:aws:s3:::data-*", "arn:aws:s3:::data-*/*"],
        },
        {
            "Sid": "S3WriteOwn",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::data-*/alice/*",
        },
        {"Sid": "Ec2Describe", "Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
        {
            "Sid": "EksRead",
            "Effect": "Allow",
            "Action": ["eks:Describe*", "eks:List*"],
            "Resource": f"arn:aws:eks:*:{CI}:cluster/*",
        },
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": "logs:*",
            "Resource": f"arn:aws:logs:us-east-1:{CI}:log-group:/app/*",
        },
        {
            "Sid": "Dynamo",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:Query"],
            "Resource": f"arn:aws:dynamodb:*:{CI}:table/app-*",
        },
        {
            "Sid": "Sqs",
            "Effect": "Allow",
            "Action": "sqs:*Message*",
            "Resource": f"arn:aws:sqs:*:{CI}:queue-?",
        },
        {
            "Sid": "Kms",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": f"arn:aws:kms:*:{CI}:key/*",
        },
        {
            "Sid": "IamSelf",
            "Effect": "Allow",
            "Action": "iam:*AccessKey*",
            "Resource": f"arn:aws:iam::{CI}:user/alice",
        },
        {
            "Sid": "Lambda",
            "Effect": "Allow",
            "Action": "lambda:Invoke*",
            "Resource": f"arn:aws:lambda:*:{CI}:function:app-*",
        },
        {
            "Sid": "DenyProdData",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::data-prod", "arn:aws:s3:::data-prod/*"],
        },
        {
            "Sid": "FromCorpNet",
            "Effect": "Allow",
            "Action": "ssm:StartSession",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}},
        },
    )


def workload_a(count: int, seed: int = 7) -> Workload:
    rng = random.Random(seed)
    choices = [
        ("s3:GetObject", "arn:aws:s3:::data-{n}/k{n}.csv", {}),
        ("s3:ListBucket", "arn:aws:s3:::data-{n}", {}),
        ("s3:PutObject", "arn:aws:s3:::data-{n}/alice/f{n}", {}),
        ("s3:GetObject", "arn:aws:s3:::data-prod/k{n}", {}),
        ("ec2:DescribeInstances", "*", {}),
        ("eks:DescribeCluster", f"arn:aws:eks:us-east-1:{CI}:cluster/c{{n}}", {}),
        ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{CI}:log-group:/app/{{n}}:log-stream:s", {}),
        ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{CI}:queue-{{d}}", {}),
        ("iam:CreateAccessKey", f"arn:aws:iam::{CI}:user/alice", {}),
        ("iam:CreateAccessKey", f"arn:aws:iam::{CI}:user/bob", {}),
        ("ssm:StartSession", "*", {"aws:SourceIp": "203.0.113.{d}"}),
        ("ssm:StartSession", "*", {"aws:SourceIp": "198.51.100.{d}"}),
        ("rds:DeleteDBInstance", f"arn:aws:rds:us-east-1:{CI}:db:x{{n}}", {}),
    ]
    requests = []
    for _ in range(count):
        action, resource, context = rng.choice(choices)
        n, d = rng.randrange(50), rng.randrange(10)
        requests.append(
            {
                "principal": USER,
                "action": action,
                "resource": resource.format(n=n, d=d),
                "context": {k: v.format(n=n, d=d) for k, v in context.items()},
            }
        )
    return Workload(
        "a",
        "12-statement identity policy, wildcards, one condition",
        {"identityPolicies": [twelve_statement_policy()]},
        requests,
    )


def seed_policies() -> dict[str, Any]:
    """Workload (b): the seed's CI identity policy and target trust policy."""
    identity = _doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": TARGET_ROLE})
    trust = _doc(
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{CI}:role/ci-account-iam-role"},
        }
    )
    return {"identityPolicies": [identity], "resourcePolicy": trust}


def workload_b(count: int, seed: int = 11) -> Workload:
    rng = random.Random(seed)
    requests = []
    for index in range(count):
        role = rng.choice(["ci-account-iam-role", "ci-account-iam-role", "other-role"])
        requests.append(
            {
                "principal": f"arn:aws:sts::{CI}:assumed-role/{role}/botocore-session-{index % 97}",
                "action": "sts:AssumeRole",
                "resource": TARGET_ROLE,
                "context": {},
            }
        )
    return Workload(
        "b", "seed cross-account AssumeRole (identity + trust policy)", seed_policies(), requests
    )


def large_policies(seed: int = 3) -> dict[str, Any]:
    """Workload (c): 200 identity statements, 3 SCP levels, a boundary, a bucket policy."""
    rng = random.Random(seed)
    services = ["s3", "ec2", "eks", "logs", "dynamodb", "sqs", "sns", "kms", "lambda", "rds"]
    statements = []
    for index in range(200):
        service = services[index % len(services)]
        statement: dict[str, Any] = {
            "Sid": f"S{index}",
            "Effect": "Deny" if index % 37 == 0 else "Allow",
            "Action": [f"{service}:Get*", f"{service}:Describe{index}*", f"{service}:List*"],
            "Resource": [
                f"arn:aws:{service}:*:{CI}:thing-{index}/*",
                f"arn:aws:s3:::bucket-{index}/*",
            ],
        }
        if index % 10 == 0:
            statement["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": ["ci", "ops"]}}
        statements.append(statement)
    everything = _doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    scps = [
        [everything],
        [
            _doc(
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "NoLeaving",
                    "Effect": "Deny",
                    "Action": "organizations:LeaveOrganization",
                    "Resource": "*",
                },
            )
        ],
        [
            _doc(
                {
                    "Effect": "Allow",
                    "NotAction": ["iam:CreateUser", "iam:CreateAccessKey"],
                    "Resource": "*",
                },
                {
                    "Sid": "RegionLock",
                    "Effect": "Deny",
                    "NotAction": ["iam:*", "sts:*"],
                    "Resource": "*",
                    "Condition": {
                        "StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}
                    },
                },
            )
        ],
    ]
    boundary = _doc(
        {
            "Effect": "Allow",
            "Action": ["s3:*", "ec2:*", "eks:*", "logs:*", "dynamodb:*", "sqs:*", "kms:*"],
            "Resource": "*",
        }
    )
    bucket = _doc(
        {
            "Sid": "TeamRead",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{CI}:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::bucket-0/*",
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::bucket-0/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )
    rng.shuffle(statements)
    return {
        "identityPolicies": [_doc(*statements[:100]), _doc(*statements[100:])],
        "serviceControlPolicies": scps,
        "permissionsBoundaries": [boundary],
        "resourcePolicy": bucket,
    }


def workload_c(count: int, seed: int = 5) -> Workload:
    rng = random.Random(seed)
    services = ["s3", "ec2", "eks", "logs", "dynamodb", "sqs", "sns", "kms", "lambda", "rds"]
    requests = []
    for _ in range(count):
        index = rng.randrange(220)
        service = services[index % len(services)]
        verb = rng.choice(["GetThing", f"Describe{index}X", "ListThings", "PutThing"])
        resource = (
            f"arn:aws:s3:::bucket-{index}/obj"
            if rng.random() < 0.3
            else f"arn:aws:{service}:us-east-1:{CI}:thing-{index}/x"
        )
        requests.append(
            {
                "principal": SESSION,
                "action": f"{service}:{verb}",
                "resource": resource,
                "context": {
                    "aws:PrincipalTag/team": rng.choice(["ci", "dev"]),
                    "aws:RequestedRegion": rng.choice(["us-east-1", "ap-south-1"]),
                    "aws:SecureTransport": "true",
                },
            }
        )
    return Workload(
        "c", "200 statements, 3 SCP levels, boundary, resource policy", large_policies(), requests
    )
