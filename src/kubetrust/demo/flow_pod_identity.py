"""``kubetrust demo --federation pod-identity``: the seed's proof with EKS Pod Identity.

The same run as the seed's (:mod:`kubetrust.demo.flow`: one sandbox, every step a command a
user could type, the sandbox always stopped), with the steps the EKS user guide gives for Pod
Identity and a target role:

check the tools → start the sandbox (the seed's world) → install the
``eks-pod-identity-agent`` add-on as the CI administrator (``aws eks create-addon``) →
``kubetrust apply`` of ``scenario/pod-identity.yaml`` (association role, target role, the
association with ``targetRoleArn``, the access entry, the kubeconfig ConfigMap) → deploy the
two pods → the add-on and the association as the CI administrator
(``describe-pod-identity-association`` shows both roles: the pod only ever sees the target's)
→ the checks inside the test pod, with no AWS config at all → the other service account's
pod, which has no association and so no credentials → audit, graph and explain offline.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubetrust.demo import analysis, scenario, verdicts
from kubetrust.demo import scenario_pod_identity as pi
from kubetrust.demo import verdicts_pod_identity as decide
from kubetrust.demo.flow import Action, Demo, StepFailed, require
from kubetrust.demo.model import Check, Link
from kubetrust.demo.shell import BIN

FEDERATION = pi.FEDERATION
AWS = str(BIN / "aws")
KUBECTL = str(BIN / "kubectl")
_SERVICE_ACCOUNT = (
    "--namespace",
    scenario.NAMESPACE,
    "--service-account",
    scenario.SERVICE_ACCOUNT,
)


class PodIdentityDemo(Demo):
    FEDERATION = pi.FEDERATION
    LINKS = pi.LINKS
    EXPECTED_FINDING = ""
    """No finding is required: the spec maps the target role through an access entry with a
    view policy (the audit's findings are shown as they come)."""
    MANIFESTS = (pi.TEST_DEPLOYMENT, pi.OTHER_DEPLOYMENT)

    host_checks: tuple[Check, ...] = ()
    """The CI administrator's list and describe of the association (decided with the pod)."""

    def _steps(self) -> list[tuple[str, Action]]:
        return [
            ("check the prerequisites", self._tools),
            ("start the sandbox", self._start),
            (f"install the {pi.AGENT_ADDON} add-on (aws eks create-addon)", self._addon),
            ("apply the Pod Identity spec (kubetrust apply)", self._apply),
            ("write the clusters' admin kubeconfigs", self._kubeconfigs),
            ("deploy the test pods (kubectl apply)", self._deploy),
            ("check the add-on and the association as the CI administrator", self._association),
            ("run the checks in the test pod, with no AWS config", self._positive),
            ("run the same checks as other-serviceaccount", self._negative),
            ("audit and explain what was applied (offline)", self._analyse),
        ]

    def _spec_file(self) -> Path:
        return pi.SPEC_FILE

    def _ci_admin(self) -> dict[str, str]:
        return self._sandbox().aws_env(scenario.CI_ACCOUNT)

    @staticmethod
    def _addon_args() -> list[str]:
        return ["--cluster-name", scenario.CI_CLUSTER, "--addon-name", pi.AGENT_ADDON]

    def _addon(self) -> str:
        created = self.shell.run(
            [AWS, "eks", "create-addon", *self._addon_args()],
            env=self._ci_admin(),
        )
        require(created)
        addon = verdicts.json_object(created.stdout).get("addon") or {}
        return f"{pi.AGENT_ADDON} {addon.get('addonVersion')} on {scenario.CI_CLUSTER}"

    def _association(self) -> list[Link]:
        env = self._ci_admin()
        cluster = ["--cluster-name", scenario.CI_CLUSTER]
        with ThreadPoolExecutor(max_workers=1) as pool:  # the add-on while listing
            addon = pool.submit(
                self.shell.run, [AWS, "eks", "describe-addon", *self._addon_args()], env=env
            )
            listed = self.shell.run(
                [AWS, "eks", "list-pod-identity-associations", *cluster, *_SERVICE_ACCOUNT],
                env=env,
            )
            described = addon.result()
        require(listed)
        found = decide.association_id(listed)
        if found is None:
            raise StepFailed(f"no single association in `{listed.command}`: {listed.stdout}")
        association = self.shell.run(
            [AWS, "eks", "describe-pod-identity-association", *cluster, "--association-id", found],
            env=env,
        )
        self.host_checks = (listed, association)
        return [decide.addon_link(described)]

    def _positive(self) -> list[Link]:
        results = self._in_pod("test-deployment", pi.POSITIVE_CHECKS)
        return [
            decide.association_link(self.host_checks, results),
            *decide.hop_links(results),
            verdicts.from_pod(pi.AWS_API, ["list-clusters", "describe-cluster"], results),
            decide.kube_identity_link(results),
            verdicts.from_pod(pi.RBAC, ["namespaces", "kube-system-pods"], results),
        ]

    def _negative(self) -> list[Link]:
        return [decide.denied_link(self._in_pod("other-deployment", pi.NEGATIVE_CHECKS))]

    def _analyse(self) -> str:
        bundle = self.work / "bundle"
        failed = self._collect_bundle(bundle)
        if failed:
            raise StepFailed(f"`{failed[0].command}`: {verdicts.last_error_line(failed[0])}")
        found = analysis.analyse(
            self.shell, bundle, explain_allowed=True, report=self.options.report
        )
        if found.problems:
            raise StepFailed(found.problems[0])
        self.report.findings = found.findings
        self.report.graph = found.graph
        self.report.report_file = found.report
        self.report.audited = True
        self.report.explained = found.allowed_path
        denied = self.report.links[-1]
        self._set_link(
            Link(denied.spec, denied.verdict, denied.evidence, denied.checks, found.why_denied)
        )
        rules = [finding.rule for finding in found.findings]
        return f"{len(rules)} finding(s): {', '.join(rules)}" if rules else "no findings"

    def _collect_bundle(self, root: Path) -> list[Check]:
        """docs/explain.md's bundle of what was applied: both accounts' IAM, both clusters,
        the target cluster's access entry, the source cluster's association and add-on."""
        sandbox = self._sandbox()
        ci, target = scenario.CI_ACCOUNT, scenario.TARGET_ACCOUNT
        ci_aws, target_aws = sandbox.aws_env(ci), sandbox.aws_env(target)
        details = [AWS, "iam", "get-account-authorization-details", "--filter"]
        details += list(analysis.IAM_DETAILS)
        target_entry = [
            "--cluster-name",
            scenario.TARGET_CLUSTER,
            "--principal-arn",
            scenario.TARGET_ROLE_ARN,
        ]
        ci_dir = f"clusters/{scenario.CI_CLUSTER}"
        target_dir = f"clusters/{scenario.TARGET_CLUSTER}"
        jobs: analysis.Jobs = {
            f"accounts/{ci}/authorization-details.json": (details, ci_aws),
            f"accounts/{target}/authorization-details.json": (details, target_aws),
            f"{ci_dir}/describe-cluster.json": (
                [AWS, "eks", "describe-cluster", "--name", scenario.CI_CLUSTER],
                ci_aws,
            ),
            f"{target_dir}/describe-cluster.json": (
                [AWS, "eks", "describe-cluster", "--name", scenario.TARGET_CLUSTER],
                target_aws,
            ),
            f"{target_dir}/access-entries/target-role.json": (
                [AWS, "eks", "describe-access-entry", *target_entry],
                target_aws,
            ),
            f"{target_dir}/access-entries/target-role-policies.json": (
                [AWS, "eks", "list-associated-access-policies", *target_entry],
                target_aws,
            ),
            f"{ci_dir}/addons.json": (
                [AWS, "eks", "describe-addon", *self._addon_args()],
                ci_aws,
            ),
            f"{ci_dir}/manifests/serviceaccounts.yaml": (
                [KUBECTL, "get", "serviceaccounts", "-n", scenario.NAMESPACE, "-o", "yaml"],
                analysis.kube_env(self.kubeconfigs, scenario.CI_CLUSTER),
            ),
        }
        done = analysis.run_jobs(self.shell, jobs)
        if self.host_checks:
            done[f"{ci_dir}/pod-identity-associations.json"] = self.host_checks[-1]
        return analysis.write_bundle(root, done)
