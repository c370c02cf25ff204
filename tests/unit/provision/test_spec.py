"""The spec loader: good specs load, bad specs fail with exact messages and positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetrust import provision

EXAMPLES = Path(__file__).parents[3] / "examples"

BASE = """\
apiVersion: kubetrust.dev/v1alpha1
kind: CrossAccountAccess
metadata:
  name: demo
spec:
  source:
    account: "111111111111"
    region: us-east-1
    cluster: ci-cluster
    serviceAccounts:
      - namespace: ci-namespace
        name: ci-serviceaccount
    roleName: ci-account-iam-role
  targets:
    - name: dev
      account: "222222222222"
      roleName: target-role
      permissions:
        statements:
          - Effect: Allow
            Action: eks:ListClusters
            Resource: "*"
      clusters:
        - name: dev-cluster
          accessEntry:
            groups: [viewers]
            accessPolicies:
              - policy: AmazonEKSViewPolicy
                namespaces: [apps]
"""


def _fails(text: str) -> list[str]:
    with pytest.raises(provision.SpecError) as info:
        provision.parse_spec(text, "k.yaml")
    return [str(problem) for problem in info.value.problems]


def test_base_loads() -> None:
    spec = provision.parse_spec(BASE)
    assert spec.name == "demo"
    assert spec.source.service_accounts[0].subject == (
        "system:serviceaccount:ci-namespace:ci-serviceaccount"
    )
    assert spec.targets[0].clusters[0].access_entry is not None
    assert spec.targets[0].clusters[0].access_entry.access_policies[0].arn == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    )
    assert spec.spec.federation == "chained"


@pytest.mark.parametrize("name", ["seed.yaml", "three-targets.yaml", "direct.yaml"])
def test_examples_load(name: str) -> None:
    provision.load_spec(EXAMPLES / name)


def test_seed_example_is_the_blog() -> None:
    spec = provision.load_spec(EXAMPLES / "seed.yaml")
    (target,) = spec.targets
    assert (spec.source.account, spec.source.cluster, spec.source.role_name) == (
        "111111111111",
        "ci-cluster",
        "ci-account-iam-role",
    )
    assert (target.account, target.role_name, target.session_name) == (
        "222222222222",
        "target-account-iam-role",
        "xactarget",
    )
    assert target.permissions.statements[0]["Action"] == [
        "s3:ListAllMyBuckets",
        "eks:DescribeCluster",
        "eks:ListClusters",
    ]
    aws_auth = target.clusters[0].aws_auth
    assert aws_auth is not None
    assert (aws_auth.username, aws_auth.groups) == ("test-user", ("system:masters",))


def test_unquoted_account_keeps_leading_zero() -> None:
    text = BASE.replace('account: "222222222222"', "account: 022222222222")
    assert provision.parse_spec(text).targets[0].account == "022222222222"


# (replace this, with that) -> the exact problems
BAD = [
    pytest.param(
        ("apiVersion: kubetrust.dev/v1alpha1", "apiVersion: kubetrust.dev/v1"),
        ["k.yaml:1:13: must be `kubetrust.dev/v1alpha1`, not `kubetrust.dev/v1`"],
        id="api-version",
    ),
    pytest.param(
        ("kind: CrossAccountAccess", "kind: Access"),
        ["k.yaml:2:7: must be `CrossAccountAccess`, not `Access`"],
        id="kind",
    ),
    pytest.param(
        ('    account: "111111111111"', '    account: "11111111111"'),
        ["k.yaml:7:14: `11111111111` is not an AWS account id (12 digits)"],
        id="account-11-digits",
    ),
    pytest.param(
        ("    serviceAccounts:", "    serviceAcounts:"),
        [
            "k.yaml:6:3: missing required key `serviceAccounts`",
            "k.yaml:10:5: unknown key `serviceAcounts` (did you mean `serviceAccounts`?)",
        ],
        id="typo-key",
    ),
    pytest.param(
        ("  targets:", "  target:"),
        [
            "k.yaml:5:1: missing required key `targets`",
            "k.yaml:14:3: unknown key `target` (did you mean `targets`?)",
        ],
        id="typo-targets",
    ),
    pytest.param(
        ("    roleName: ci-account-iam-role", "    roleName: ci account role"),
        [
            "k.yaml:13:15: `ci account role` is not a valid IAM role name (1-64 characters: "
            "letters, digits and +=,.@_-)"
        ],
        id="role-name-space",
    ),
    pytest.param(
        ("      roleName: target-role", "      roleName: " + "r" * 65),
        [
            f"k.yaml:17:17: `{'r' * 65}` is not a valid IAM role name (1-64 characters: "
            "letters, digits and +=,.@_-)"
        ],
        id="role-name-65",
    ),
    pytest.param(
        ("      roleName: target-role", "      roleName: target-role\n      sessionName: x"),
        [
            "k.yaml:18:20: `x` is not a valid role session name (2-64 characters: letters, "
            "digits and +=,.@_-)"
        ],
        id="session-name-short",
    ),
    pytest.param(
        (
            "      roleName: target-role",
            "      roleName: target-role\n      maxSessionDuration: 60",
        ),
        ["k.yaml:18:27: 60 is not a valid max session duration (3600 to 43200 seconds)"],
        id="duration",
    ),
    pytest.param(
        (
            "      roleName: target-role",
            "      roleName: target-role\n      maxSessionDuration: 1h",
        ),
        ["k.yaml:18:27: must be an integer, not `1h`"],
        id="duration-text",
    ),
    pytest.param(
        ("            Action: eks:ListClusters", "            Action: ListClusters"),
        [
            "k.yaml:21:21: invalid permission statement: Actions/Conditions must be prefaced "
            "by a vendor, e.g., iam, sdb, ec2, etc. (at Statement[0].Action; `ListClusters` "
            "has no service prefix)"
        ],
        id="statement-action",
    ),
    pytest.param(
        ("          - Effect: Allow", "          - Effect: allow"),
        [
            "k.yaml:20:21: invalid permission statement: The policy failed legacy parsing (at "
            "Statement[0].Effect; `allow` is not `Allow` or `Deny` (case matters))"
        ],
        id="statement-effect",
    ),
    pytest.param(
        ('            Resource: "*"', '            Resource: "*"\n            Principal: "*"'),
        [
            "k.yaml:23:24: invalid permission statement: Policy document should not specify a "
            "principal. (at Statement[0].Principal; a identity policy's principal is implicit: "
            "the identity it is attached to)"
        ],
        id="statement-principal",
    ),
    pytest.param(
        ("            groups: [viewers]", "            groups: [system:masters]"),
        [
            "k.yaml:26:22: group `system:masters` cannot be used in an access entry: EKS "
            "rejects groups starting with `system:` (use an access policy such as "
            "`AmazonEKSClusterAdminPolicy`)"
        ],
        id="system-group",
    ),
    pytest.param(
        (
            "            groups: [viewers]",
            "            username: system:ci\n            groups: [viewers]",
        ),
        [
            "k.yaml:26:23: username `system:ci` is reserved: EKS rejects usernames starting "
            "with `system:`, `eks:`, `aws:`, `amazon:`, `iam:`"
        ],
        id="reserved-username",
    ),
    pytest.param(
        ("              - policy: AmazonEKSViewPolicy", "              - policy: ViewPolicy"),
        [
            "k.yaml:28:25: `ViewPolicy` is not an EKS access policy: use an ARN or one of "
            "`AmazonEKSClusterAdminPolicy`, `AmazonEKSAdminPolicy`, `AmazonEKSEditPolicy`, "
            "`AmazonEKSViewPolicy`, `AmazonEKSAdminViewPolicy`"
        ],
        id="access-policy",
    ),
    pytest.param(
        (
            "          accessEntry:",
            "          awsAuth:\n            username: u\n          accessEntry:",
        ),
        ["k.yaml:24:11: a cluster needs exactly one of `awsAuth` or `accessEntry` (its access)"],
        id="both-accesses",
    ),
    pytest.param(
        ("    roleName: ci-account-iam-role\n", ""),
        [
            "k.yaml:6:3: missing required key `roleName` (the CI role, needed by federation "
            "`chained`)"
        ],
        id="chained-needs-ci-role",
    ),
    pytest.param(
        ("  targets:", "  federation: direct\n  targets:"),
        [
            "k.yaml:13:5: `roleName` is not used with federation `direct`: each target role "
            "trusts the cluster's OIDC provider in its own account; remove it"
        ],
        id="direct-no-ci-role",
    ),
    pytest.param(
        ("  targets:", "  federation: chain\n  targets:"),
        ["k.yaml:14:15: must be `chained`, `direct` or `podIdentity`, not `chain`"],
        id="federation-value",
    ),
    pytest.param(
        ("      roleName: target-role", "      roleName: ci-account-iam-role\n      account: x"),
        [
            "k.yaml:18:7: duplicate key `account` (first at line 16); YAML would keep only "
            "the last one"
        ],
        id="duplicate-key",
    ),
    pytest.param(
        ('      account: "222222222222"', '      account: "111111111111"'),
        [],
        id="same-account-other-role-is-fine",
    ),
    pytest.param(
        (
            "      roleName: target-role",
            "      roleName: ci-account-iam-role",
        ),
        [],
        id="same-name-other-account-is-fine",
    ),
    pytest.param(
        (
            '      account: "222222222222"\n      roleName: target-role',
            '      account: "111111111111"\n      roleName: ci-account-iam-role',
        ),
        [
            "k.yaml:17:17: role `arn:aws:iam::111111111111:role/ci-account-iam-role` is "
            "already the CI role; each role needs its own name"
        ],
        id="target-role-is-ci-role",
    ),
    pytest.param(
        ("metadata:\n  name: demo", "metadata:\n  name: Demo_1"),
        [
            "k.yaml:4:9: `Demo_1` is not a valid Kubernetes name (a DNS label: at most 63 "
            "lowercase letters, digits and -, starting and ending with a letter or digit)"
        ],
        id="spec-name",
    ),
    pytest.param(
        ("  targets:", "  tags:\n    aws:team: x\n    kubetrust.dev/spec: y\n  targets:"),
        [
            "k.yaml:15:5: `aws:team` is not a valid tag key (1-128 characters, not `aws:`)",
            "k.yaml:16:5: tag keys starting with `kubetrust.dev/` are kubetrust's own",
        ],
        id="tags",
    ),
    pytest.param(
        ("    cluster: ci-cluster", "    cluster: ci-cluster\n    oidcIssuer: http://x"),
        ["k.yaml:10:17: `http://x` is not an OIDC issuer URL (https, no query or fragment)"],
        id="issuer",
    ),
    pytest.param(
        ("          - Effect: Allow", "          - Effect: [Allow"),
        [
            "k.yaml:21:19: not valid YAML: while parsing a flow sequence expected ',' or ']', "
            "but got ':'"
        ],
        id="yaml-syntax",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), BAD)
def test_bad_specs(edit: tuple[str, str], expected: list[str]) -> None:
    old, new = edit
    assert old in BASE
    text = BASE.replace(old, new)
    if not expected:
        provision.parse_spec(text, "k.yaml")
        return
    assert _fails(text) == expected


def test_not_a_mapping() -> None:
    assert _fails("- a\n- b\n") == ["k.yaml:1:1: a spec must be a mapping (apiVersion, kind, ...)"]


def test_trust_policy_too_large() -> None:
    accounts = "".join(
        f"      - namespace: ns{i}\n        name: service-account-number-{i}\n" for i in range(40)
    )
    text = BASE.replace(
        "      - namespace: ci-namespace\n        name: ci-serviceaccount\n", accounts
    )
    (problem,) = _fails(text)
    assert problem.startswith("k.yaml:10:5: the web identity trust policy would be about ")
    assert problem.endswith(
        "characters with 40 service accounts; IAM's default limit is 2048 (a quota, "
        "adjustable to 4096)"
    )


def test_every_problem_reported_at_once() -> None:
    text = BASE.replace('"111111111111"', '"1"').replace("ci-account-iam-role", "a b")
    assert len(_fails(text)) == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(provision.SpecError) as info:
        provision.load_spec(tmp_path / "missing.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'missing.yaml'}:1:1: cannot read the spec:")
