"""``kubetrust demo --federation pod-identity``: the verdict rules, the scenario's files, the
summary. No sandbox here (tests/test_demo_pod_identity.py runs the demo for real).

The rules under test: a failure is a denial only in the words AWS uses for that link (EKS's
hop-1 refusal, STS's hop-2 refusal naming the association role's session, botocore's "Unable
to locate credentials"); a success as any identity but the target role's session is an
error; one success of the service account without an association is a leak.
"""

from __future__ import annotations

import json

import yaml

from kubetrust.demo import render
from kubetrust.demo import scenario_pod_identity as pi
from kubetrust.demo import verdicts_pod_identity as decide
from kubetrust.demo.model import Check, Kept, Link, Report, Verdict
from kubetrust.provision.load import load_spec

POD = "pod ci-namespace/test-1"
TARGET_ARN = (
    "arn:aws:sts::222222222222:assumed-role/target-account-iam-role/"
    "eks-ci-cluster-test-1-0a1b2c3d-4e5f-46"
)
HOP1 = (
    "Error when retrieving credentials from container-role: Error retrieving metadata: "
    "Received non 200 response 400 from container metadata: [x]: (AccessDeniedException): "
    "Unauthorized Exception! EKS does not have permissions to assume the associated role., "
    "fault: client"
)
HOP2 = (
    "Error when retrieving credentials from container-role: Error retrieving metadata: "
    "Received non 200 response 400 from container metadata: [x]: (AccessDeniedException): "
    "User: arn:aws:sts::111111111111:assumed-role/ci-pod-identity-role/eks-ci-cluster-test-1-x "
    "is not authorized to perform: sts:AssumeRole on resource: "
    "arn:aws:iam::222222222222:role/target-account-iam-role, fault: client"
)
NO_CREDENTIALS = (
    'Unable to locate credentials. You can configure credentials by running "aws configure".'
)


def _check(command: str, code: int, stdout: str = "", stderr: str = "") -> Check:
    return Check(command, code, stdout, stderr, where=POD)


def _identity(code: int, stdout: str = "", stderr: str = "") -> dict[str, Check]:
    return {"identity": _check("aws sts get-caller-identity", code, stdout, stderr)}


# ---------------------------------------------------------------------------- the two hops


def test_target_session_holds_both_hops() -> None:
    first, second = decide.hop_links(_identity(0, json.dumps({"Arn": TARGET_ARN})))
    assert (first.verdict, second.verdict) == (Verdict.ALLOWED, Verdict.ALLOWED)
    assert second.evidence == TARGET_ARN
    assert pi.ASSOCIATION_ROLE_ARN in first.evidence


def test_hop1_refusal_denies_the_first_and_skips_the_second() -> None:
    first, second = decide.hop_links(_identity(255, stderr=HOP1))
    assert first.verdict is Verdict.DENIED and first.evidence == HOP1
    assert second.verdict is Verdict.NOT_RUN


def test_hop2_refusal_proves_the_first_and_denies_the_second() -> None:
    first, second = decide.hop_links(_identity(255, stderr=HOP2))
    assert (first.verdict, second.verdict) == (Verdict.ALLOWED, Verdict.DENIED)


def test_other_identities_and_failures_are_errors() -> None:
    """Credentials from elsewhere (a session of the association role itself, a user) or a
    failure that is no refusal never pass for the chain."""
    association = "arn:aws:sts::111111111111:assumed-role/ci-pod-identity-role/eks-ci-cluster-x"
    for stdout in (json.dumps({"Arn": association}), '{"Arn": "arn:aws:iam::1:user/admin"}'):
        links = decide.hop_links(_identity(0, stdout))
        assert [link.verdict for link in links] == [Verdict.ERROR, Verdict.ERROR]
    refused = decide.hop_links(_identity(255, stderr="Could not connect to the endpoint URL"))
    assert [link.verdict for link in refused] == [Verdict.ERROR, Verdict.ERROR]
    assert [link.verdict for link in decide.hop_links({})] == [Verdict.NOT_RUN] * 2


# ---------------------------------------------------------------------------- the denial


def _negative(identity: Check, whoami: Check, injected: str = "") -> Link:
    env = _check(pi.INJECTED.command, 0, injected)
    return decide.denied_link({"injected": env, "identity": identity, "whoami": whoami})


def test_no_credentials_anywhere_is_the_denial() -> None:
    link = _negative(
        _check("aws sts get-caller-identity --region us-east-1", 255, stderr=NO_CREDENTIALS),
        _check("kubectl auth whoami", 1, stderr=f"{NO_CREDENTIALS}\nUnable to connect"),
    )
    assert link.verdict is Verdict.DENIED and link.ok
    assert "no AWS_CONTAINER_* variables" in link.evidence


def test_a_mutated_pod_or_another_failure_is_an_error_and_a_success_a_leak() -> None:
    no_creds = _check("aws sts get-caller-identity", 255, stderr=NO_CREDENTIALS)
    kubectl = _check("kubectl auth whoami", 1, stderr=NO_CREDENTIALS)
    mutated = _negative(no_creds, kubectl, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://x\n")
    assert mutated.verdict is Verdict.ERROR and "the pod was mutated" in mutated.evidence
    region = _check("aws sts get-caller-identity", 255, stderr="You must specify a region.")
    assert _negative(region, kubectl).verdict is Verdict.ERROR
    leak = _negative(no_creds, _check("kubectl auth whoami", 0, "ATTRIBUTE  VALUE"))
    assert leak.verdict is Verdict.ALLOWED and not leak.ok
    assert decide.denied_link({}).verdict is Verdict.NOT_RUN


# ---------------------------------------------------------------------------- the association


def _association(**changes: object) -> Check:
    association = {
        "associationId": "a-abcdefghijklmnopq",
        "roleArn": pi.ASSOCIATION_ROLE_ARN,
        "targetRoleArn": "arn:aws:iam::222222222222:role/target-account-iam-role",
        "externalId": "us-east-1/111111111111/ci-cluster/ci-namespace/ci-serviceaccount",
        "disableSessionTags": False,
        **changes,
    }
    return Check(
        "aws eks describe-pod-identity-association", 0, json.dumps({"association": association}), ""
    )


def _pod(injected: int = 0) -> dict[str, Check]:
    env = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/t\nAWS_CONTAINER_CREDENTIALS_FULL_URI=http://a\n"
    return {
        "no-aws-config": _check("test ! -e ~/.aws", 0),
        "injected": _check(pi.INJECTED.command, injected, env if injected == 0 else ""),
    }


def test_association_link() -> None:
    listed = Check("aws eks list-pod-identity-associations", 0, "{}", "")
    link = decide.association_link((listed, _association()), _pod())
    assert link.verdict is Verdict.ALLOWED
    assert "targetRoleArn arn:aws:iam::222222222222:role/target-account-iam-role" in link.evidence
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in link.evidence
    wrong = decide.association_link((listed, _association(targetRoleArn=None)), _pod())
    assert wrong.verdict is Verdict.ERROR and "targetRoleArn" in wrong.evidence
    not_injected = decide.association_link((listed, _association()), _pod(injected=1))
    assert not_injected.verdict is Verdict.ERROR
    assert decide.association_link((listed, _association()), {}).verdict is Verdict.NOT_RUN


def test_association_id_needs_exactly_one() -> None:
    one = {"associations": [{"associationId": "a-1"}]}
    assert decide.association_id(Check("list", 0, json.dumps(one), "")) == "a-1"
    assert decide.association_id(Check("list", 0, '{"associations": []}', "")) is None
    assert decide.association_id(Check("list", 255, json.dumps(one), "")) is None


def test_addon_link() -> None:
    active = {"addon": {"addonName": pi.AGENT_ADDON, "addonVersion": "v1", "status": "ACTIVE"}}
    assert decide.addon_link(Check("describe-addon", 0, json.dumps(active), "")).ok
    missing = "An error occurred (ResourceNotFoundException) when calling the DescribeAddon"
    assert decide.addon_link(Check("describe-addon", 254, "", missing)).verdict is Verdict.DENIED
    creating = {"addon": {**active["addon"], "status": "CREATING"}}
    assert decide.addon_link(Check("d", 0, json.dumps(creating), "")).verdict is Verdict.ERROR


def test_kube_identity_is_the_access_entry_user() -> None:
    def whoami(username: str) -> dict[str, Check]:
        info = {
            "username": username,
            "groups": ["system:authenticated"],
            "extra": {"arn": [TARGET_ARN]},
        }
        return {
            "whoami": _check(
                "kubectl auth whoami -o json", 0, json.dumps({"status": {"userInfo": info}})
            )
        }

    link = decide.kube_identity_link(whoami(pi.KUBE_USER))
    assert link.ok and link.evidence.startswith("user `ci-deployer`, groups [system:authenticated]")
    assert decide.kube_identity_link(whoami("admin")).verdict is Verdict.ERROR


# ---------------------------------------------------------------------------- the scenario files


def test_scenario_agrees_with_its_spec_and_manifests() -> None:
    spec = load_spec(pi.SPEC_FILE).spec
    assert spec.federation == "podIdentity"
    assert spec.source.role_name == pi.ASSOCIATION_ROLE
    assert [(a.namespace, a.name) for a in spec.source.service_accounts] == [
        ("ci-namespace", "ci-serviceaccount")
    ]
    (target,) = spec.targets
    assert target.role_name == "target-account-iam-role"
    (cluster,) = target.clusters
    assert cluster.access_entry is not None and cluster.access_entry.username == pi.KUBE_USER
    assert [p.policy for p in cluster.access_entry.access_policies] == [pi.ACCESS_POLICY]
    for manifest, account in (
        (pi.TEST_DEPLOYMENT, "ci-serviceaccount"),
        (pi.OTHER_DEPLOYMENT, "other-serviceaccount"),
    ):
        documents = list(yaml.safe_load_all(manifest.read_text()))
        deployment = documents[-1]["spec"]["template"]["spec"]
        assert deployment["serviceAccountName"] == account
        assert [v["configMap"]["name"] for v in deployment["volumes"]] == [pi.KUBECONFIG_MAP]
        assert "aws_config" not in manifest.read_text()  # no AWS config, by design
        for document in documents:  # no IRSA annotation anywhere
            assert not (document["metadata"].get("annotations") or {})


# ---------------------------------------------------------------------------- the summary


def _report(kept: Kept | None = None) -> Report:
    links = [Link(spec, spec.expected, f"evidence of {spec.key}") for spec in pi.LINKS]
    return Report(
        state_dir="/tmp/state",
        federation=pi.FEDERATION,
        links=links,
        seconds=41.0,
        sandbox="running" if kept else "stopped",
        audited=True,
        explained="kubetrust explain (offline, same state): allowed, through pod-identity",
        kept=kept,
    )


def test_summary_of_the_pod_identity_demo() -> None:
    text = render.render_text(_report())
    assert text.startswith("The seed's chain with EKS Pod Identity, link by link\n")
    for number, spec in enumerate(pi.LINKS, 1):
        assert f"\n{number}. {spec.title}\n" in text
    assert "   DENIED (as expected)   [EKS user guide: least privilege" in text
    assert "kubetrust audit of what was applied: no findings" in text
    assert "allowed, through pod-identity" in text
    assert text.endswith(
        "PASS: every link held as expected (7 allowed, 1 denied) in 41.0 s; the sandbox is "
        "stopped.\n"
    )
    data = _report().to_json()
    assert data["federation"] == "pod-identity" and data["ok"] is True
    assert data["links"][0]["source"] == "EKS user guide"


def test_kept_instructions_use_the_default_credentials() -> None:
    kept = Kept("/tmp/state", {}, ("111111111111",), "test-1", pi.FEDERATION)
    text = render.render_text(_report(kept))
    assert "--pod test-1 -- sh -c 'aws sts get-caller-identity && kubectl auth whoami'" in text
    assert "aws_config" not in text
