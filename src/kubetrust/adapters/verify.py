"""Run a chain for real (``kubetrust verify``): STS per hop, probes, Kubernetes access reviews.

For each :class:`~kubetrust.explain.verify_model.ChainPlan`, from its start
(:mod:`kubetrust.adapters.verify_pod`):

1. ``AssumeRoleWithWebIdentity`` with the token (unsigned, as the SDK calls it), or, for a
   pod of EKS Pod Identity, its association and ``AssumeRoleForPodIdentity``
   (:mod:`kubetrust.adapters.verify_pod_identity`), or ``GetCallerIdentity`` with the
   current credentials;
2. ``AssumeRole`` into each further role, then ``GetCallerIdentity`` as that session (the
   seed's ``aws sts get-caller-identity --profile target-env``);
3. per expected AWS action, its read-only probe (:mod:`kubetrust.adapters.verify_probes`);
4. per target cluster: ``DescribeCluster`` (endpoint and CA, as ``aws eks
   update-kubeconfig``), an EKS token signed by the last session, ``SelfSubjectReview``
   (who the cluster says the session is: ``kubectl auth whoami``), then a
   ``SelfSubjectAccessReview`` per expected permission (``kubectl auth can-i``).

Every answer becomes a :class:`~kubetrust.explain.verify_model.Step`; a failed hop leaves
the rest "not reached". Only reads and reviews are called: nothing is created or changed.

Right after ``kubetrust apply`` AWS may still refuse what it will allow seconds later
(eventual consistency, reference H): the checks propagation can refuse are retried within
one bounded budget for the run (:mod:`kubetrust.adapters.verify_patience`), and a check
that waited says so. Every client uses botocore's standard retry mode (throttling).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import boto3
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from kubetrust.adapters.aws import RETRY_MODE
from kubetrust.adapters.kube import KubernetesPort
from kubetrust.adapters.token import eks_bearer_token
from kubetrust.adapters.verify_patience import (
    EKS_AUTH_PROPAGATION_CODES,
    KUBE_UNAUTHORIZED,
    STS_PROPAGATION_CODES,
    Patience,
    noted,
    refused_with,
)
from kubetrust.adapters.verify_pod import (
    PodIdentityStart,
    SessionStart,
    Start,
    WebIdentityStart,
)
from kubetrust.adapters.verify_pod_identity import (
    answer_of,
    association_step,
    eks_auth_steps,
    same_role,
)
from kubetrust.adapters.verify_probes import NoProbe, probe_for, verdict
from kubetrust.explain.verify_model import (
    ChainPlan,
    ChainRun,
    KubeExpectation,
    Outcome,
    Step,
    StepKind,
    VerifyReport,
    not_reached,
)

NO_CREDENTIALS = "(no session)"


@dataclass(frozen=True, slots=True)
class Credentials:
    """One session's keys and the ARN STS gave it."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    arn: str


_answer = answer_of
NOT_POD_IDENTITY = (
    "the chain starts with EKS Pod Identity, but the pod was mutated for IRSA "
    "(AWS_ROLE_ARN): its service account had no association when the pod was created "
    "(the webhook mutates only at creation, and an association wins over the IRSA "
    "annotation): recreate the pod"
)


class ChainRunner:
    """Runs plans against one AWS endpoint (``None``: AWS itself) and region."""

    def __init__(
        self, *, region: str, endpoint_url: str | None = None, patience: Patience | None = None
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url
        self.patience = patience or Patience(0.0)
        """How long the run waits for IAM and EKS to propagate (none by default)."""
        self._base = boto3.session.Session()
        """Clients are made from one session with explicit keys: a new session per client
        would reload botocore's data files each time."""

    # ------------------------------------------------------------------ clients
    def _session(self, credentials: Credentials) -> boto3.session.Session:
        return boto3.session.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=self.region,
        )

    def _client(self, service: str, credentials: Credentials, region: str | None = None) -> Any:
        options: dict[str, Any] = {"retries": dict(RETRY_MODE)}
        if service == "s3" and self.endpoint_url:
            options["s3"] = {"addressing_style": "path"}
        return self._base.client(
            service,
            region_name=region or self.region,
            endpoint_url=self.endpoint_url,
            config=Config(**options),
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )

    # ------------------------------------------------------------------ STS
    def _settled(
        self, what: str, attempt: Any, codes: frozenset[str]
    ) -> tuple[Step, Credentials | None]:
        """An STS hop, retried while refused as propagation refuses (module doc)."""
        (step, credentials), waited = self.patience.run(
            what,
            attempt,
            lambda answer: answer[1] is None and refused_with(codes)(answer[0]),
        )
        return noted(step, waited), credentials

    def _web_identity(
        self, start: WebIdentityStart, role_arn: str, plan: ChainPlan
    ) -> tuple[Step, Credentials | None]:
        return self._settled(
            f"AssumeRoleWithWebIdentity into {role_arn}",
            lambda: self._web_identity_once(start, role_arn, plan),
            STS_PROPAGATION_CODES,
        )

    def _web_identity_once(
        self, start: WebIdentityStart, role_arn: str, plan: ChainPlan
    ) -> tuple[Step, Credentials | None]:
        sts = self._base.client(
            "sts",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=Config(signature_version=UNSIGNED, retries=dict(RETRY_MODE)),
        )
        try:
            answer = sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName=plan.session_name, WebIdentityToken=start.token
            )
        except ClientError as error:
            code, message = _answer(error)
            return Step(
                StepKind.WEB_IDENTITY, start.subject, role_arn, Outcome.FAIL, message, code
            ), None
        except BotoCoreError as error:
            detail = f"STS unreachable: {error}"
            return Step(StepKind.WEB_IDENTITY, start.subject, role_arn, Outcome.FAIL, detail), None
        credentials = self._credentials(answer)
        facts = {
            "session_arn": credentials.arn,
            "provider": answer.get("Provider"),
            "audience": answer.get("Audience"),
            "subject": answer.get("SubjectFromWebIdentityToken"),
        }
        if start.role_arn and start.role_arn != role_arn:
            facts["pod_role"] = start.role_arn
        detail = f"session {credentials.arn}"
        step = Step(
            StepKind.WEB_IDENTITY, start.subject, role_arn, Outcome.PASS, detail, facts=facts
        )
        return step, credentials

    @staticmethod
    def _credentials(answer: dict[str, Any]) -> Credentials:
        found = answer["Credentials"]
        return Credentials(
            found["AccessKeyId"],
            found["SecretAccessKey"],
            found.get("SessionToken"),
            str(answer["AssumedRoleUser"]["Arn"]),
        )

    def _assume(
        self, credentials: Credentials, role_arn: str, plan: ChainPlan
    ) -> tuple[Step, Credentials | None]:
        return self._settled(
            f"AssumeRole into {role_arn}",
            lambda: self._assume_once(credentials, role_arn, plan),
            STS_PROPAGATION_CODES,
        )

    def _assume_once(
        self, credentials: Credentials, role_arn: str, plan: ChainPlan
    ) -> tuple[Step, Credentials | None]:
        sts = self._client("sts", credentials)
        try:
            answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=plan.session_name)
            following = self._credentials(answer)
            who = self._client("sts", following).get_caller_identity()
        except ClientError as error:
            code, message = _answer(error)
            step = Step(
                StepKind.ASSUME_ROLE, credentials.arn, role_arn, Outcome.FAIL, message, code
            )
            return step, None
        except BotoCoreError as error:
            detail = f"STS unreachable: {error}"
            return Step(StepKind.ASSUME_ROLE, credentials.arn, role_arn, Outcome.FAIL, detail), None
        detail = f"GetCallerIdentity: {who['Arn']}"
        facts = {"session_arn": who["Arn"], "account": who["Account"]}
        step = Step(
            StepKind.ASSUME_ROLE, credentials.arn, role_arn, Outcome.PASS, detail, facts=facts
        )
        return step, following

    def _whoami(self, start: SessionStart) -> tuple[Step, Credentials | None]:
        try:
            found = start.session.get_credentials()
            frozen = found.get_frozen_credentials() if found is not None else None
            if frozen is None:
                detail = "no AWS credentials (profile, environment or default chain)"
                step = Step(StepKind.START, start.description, NO_CREDENTIALS, Outcome.FAIL, detail)
                return step, None
            who = start.session.client(
                "sts", region_name=self.region, endpoint_url=self.endpoint_url
            ).get_caller_identity()
        except ClientError as error:
            code, message = _answer(error)
            return Step(
                StepKind.START, start.description, NO_CREDENTIALS, Outcome.FAIL, message, code
            ), None
        except BotoCoreError as error:
            return Step(
                StepKind.START, start.description, NO_CREDENTIALS, Outcome.FAIL, str(error)
            ), None
        credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token, who["Arn"])
        facts = {"arn": who["Arn"], "account": who["Account"]}
        detail = f"GetCallerIdentity: {who['Arn']}"
        step = Step(
            StepKind.START, start.description, who["Arn"], Outcome.PASS, detail, facts=facts
        )
        return step, credentials

    # ------------------------------------------------------------------ Pod Identity
    def _pod_identity(
        self, plan: ChainPlan, start: PodIdentityStart
    ) -> tuple[list[Step], Credentials | None]:
        """The token, the association, EKS Auth (:mod:`.verify_pod_identity`)."""
        config = Config(retries=dict(RETRY_MODE))
        region = start.region or self.region
        eks, eks_auth = (
            start.session.client(
                service, region_name=region, endpoint_url=self.endpoint_url, config=config
            )
            for service in ("eks", "eks-auth")
        )
        association, found = association_step(eks, start, plan.pod_identity)
        roles = plan.pod_identity or (found.roles if found else ())
        (steps, answer), waited = self.patience.run(
            f"AssumeRoleForPodIdentity for {start.subject}",
            lambda: eks_auth_steps(eks_auth, start, roles),
            lambda found: (
                found[1] is None
                and any(refused_with(EKS_AUTH_PROPAGATION_CODES)(step) for step in found[0])
            ),
        )
        steps = [
            noted(step, waited) if step.outcome is not Outcome.SKIP else step for step in steps
        ]
        if answer is None:
            return [start.token_step, association, *steps], None
        issued = answer["credentials"]
        credentials = Credentials(
            issued["accessKeyId"],
            issued["secretAccessKey"],
            issued.get("sessionToken"),
            str(answer["assumedRoleUser"]["arn"]),
        )
        return [start.token_step, association, *steps], credentials

    def _not_pod_identity(
        self, plan: ChainPlan, start: WebIdentityStart | SessionStart
    ) -> tuple[list[Step], Credentials | None, list[str]]:
        """A Pod Identity plan from another start: inside the pod, its credentials (the
        container provider's) are a session of one of the plan's roles and the chain goes
        on from there; a pod mutated for IRSA fails."""
        roles = [*plan.pod_identity, *plan.hops]
        first = plan.pod_identity[0]
        if isinstance(start, WebIdentityStart):
            if start.token is None:
                step = not_reached(StepKind.POD_IDENTITY, start.subject, first)
            else:
                step = Step(
                    StepKind.POD_IDENTITY, start.subject, first, Outcome.FAIL, NOT_POD_IDENTITY
                )
            return [start.token_step, step], None, roles[1:]
        step, credentials = self._whoami(start)
        if credentials is None:
            return [step], None, roles
        for index, role in enumerate(roles):
            if same_role(credentials.arn, role):
                return [step], credentials, roles[index + 1 :]
        detail = (
            f"the chain starts with EKS Pod Identity: {credentials.arn} is not a session of "
            "its roles; run verify in the pod, or from it (--cluster, --namespace, --pod)"
        )
        refused = Step(StepKind.POD_IDENTITY, credentials.arn, first, Outcome.FAIL, detail)
        return [step, refused], None, roles[1:]

    # ------------------------------------------------------------------ the plan
    def run(self, plan: ChainPlan, start: Start) -> ChainRun:
        """Run one plan (module doc)."""
        steps: list[Step] = []
        hops = list(plan.hops)
        if isinstance(start, PodIdentityStart):
            steps, credentials = self._pod_identity(plan, start)
            if plan.first and not (credentials and same_role(credentials.arn, plan.first)):
                hops.insert(0, plan.first)  # --role-arn: a role the pod assumes first
        elif plan.pod_identity:
            steps, credentials, hops = self._not_pod_identity(plan, start)
        elif isinstance(start, WebIdentityStart):
            steps.append(start.token_step)
            first = plan.first or start.role_arn or NO_CREDENTIALS
            if start.token is None:
                steps.append(not_reached(StepKind.WEB_IDENTITY, start.subject, first))
                credentials = None
            else:
                step, credentials = self._web_identity(start, first, plan)
                steps.append(step)
        else:
            step, credentials = self._whoami(start)
            steps.append(step)
            if plan.first and not (credentials and same_role(credentials.arn, plan.first)):
                hops.insert(0, plan.first)
        for role_arn in hops:
            if credentials is None:
                steps.append(not_reached(StepKind.ASSUME_ROLE, NO_CREDENTIALS, role_arn))
                continue
            step, credentials = self._assume(credentials, role_arn, plan)
            steps.append(step)
        steps += [self._probe(plan, credentials, e.action, e.resource) for e in plan.aws]
        for cluster, region in plan.clusters():
            steps += self._kube(plan, credentials, cluster, region)
        return ChainRun(plan, tuple(steps))

    def verify(self, plans: list[ChainPlan], start: Start) -> VerifyReport:
        return VerifyReport(start.description, tuple(self.run(plan, start) for plan in plans))

    def verify_each(self, plans: list[ChainPlan], starts: list[Start]) -> VerifyReport:
        """Every plan from every start (one per service account of a spec); with several
        starts each chain is named after its start."""
        if len(starts) == 1:
            return self.verify(plans, starts[0])
        runs = tuple(
            self.run(dataclasses.replace(plan, name=f"{plan.name} from {start.description}"), start)
            for start in starts
            for plan in plans
        )
        return VerifyReport("; ".join(start.description for start in starts), runs)

    # ------------------------------------------------------------------ AWS actions
    def _probe(
        self, plan: ChainPlan, credentials: Credentials | None, action: str, resource: str
    ) -> Step:
        """:meth:`_probe_once`, retried while denied (an identity policy just changed)."""
        step, waited = self.patience.run(
            f"{action} as {credentials.arn if credentials else NO_CREDENTIALS}",
            lambda: self._probe_once(plan, credentials, action, resource),
            lambda found: (
                found.outcome is Outcome.FAIL and verdict(found.code, found.detail) is False
            ),
        )
        return noted(step, waited)

    def _probe_once(
        self, plan: ChainPlan, credentials: Credentials | None, action: str, resource: str
    ) -> Step:
        target = action if resource in ("", "*") else f"{action} on {resource}"
        if credentials is None:
            return not_reached(StepKind.AWS_ACTION, NO_CREDENTIALS, target)
        caller = credentials.arn
        try:
            call = probe_for(action, resource, plan.clusters())
        except NoProbe as error:
            return Step(StepKind.AWS_ACTION, caller, target, Outcome.SKIP, f"not verified: {error}")
        try:
            client = self._client(call.service, credentials, call.region)
            getattr(client, call.operation)(**call.params)
        except ClientError as error:
            code, message = _answer(error)
            allowed = verdict(code, message)
            if allowed is True:
                detail = f"{call.describe()}: authorized ({code}: the resource does not exist)"
                return Step(StepKind.AWS_ACTION, caller, target, Outcome.PASS, detail, code)
            prefix = "" if allowed is False else "error: "
            detail = f"{call.describe()}: {prefix}{message}"
            return Step(StepKind.AWS_ACTION, caller, target, Outcome.FAIL, detail, code)
        except BotoCoreError as error:
            detail = f"{call.describe()}: {error}"
            return Step(StepKind.AWS_ACTION, caller, target, Outcome.FAIL, detail)
        return Step(
            StepKind.AWS_ACTION, caller, target, Outcome.PASS, f"{call.describe()}: allowed"
        )

    # ------------------------------------------------------------------ Kubernetes
    def _kube(
        self, plan: ChainPlan, credentials: Credentials | None, cluster: str, region: str | None
    ) -> list[Step]:
        from kubetrust.adapters import verify_kube

        expected = [e for e in plan.kube if e.cluster == cluster]
        if credentials is None:
            return [
                not_reached(StepKind.KUBE_IDENTITY, NO_CREDENTIALS, cluster),
                *(not_reached(StepKind.KUBE_ACCESS, NO_CREDENTIALS, _where(e)) for e in expected),
            ]
        region = region or self.region
        eks = self._client("eks", credentials, region)
        try:
            info = eks.describe_cluster(name=cluster)["cluster"]
            api = KubernetesPort.from_endpoint(
                info["endpoint"],
                info["certificateAuthority"]["data"],
                lambda: eks_bearer_token(
                    self._session(credentials), cluster, region, self.endpoint_url
                ),
            ).api_client
        except (ClientError, BotoCoreError, KeyError) as error:
            code, message = _answer(error) if isinstance(error, ClientError) else ("", str(error))
            detail = f"eks:DescribeCluster (what `aws eks update-kubeconfig` needs): {message}"
            step = Step(
                StepKind.KUBE_IDENTITY, credentials.arn, cluster, Outcome.FAIL, detail, code
            )
            return [
                step,
                *(not_reached(StepKind.KUBE_ACCESS, NO_CREDENTIALS, _where(e)) for e in expected),
            ]
        identities = [i for i in plan.identities if i.cluster == cluster]
        identity, waited = self.patience.run(
            f"cluster {cluster} mapping {credentials.arn}",
            lambda: verify_kube.whoami(
                api, credentials.arn, cluster, identities, plan.session_name
            ),
            refused_with(frozenset({KUBE_UNAUTHORIZED})),
        )
        identity = noted(identity, waited)
        if identity.outcome is Outcome.FAIL and identity.code == KUBE_UNAUTHORIZED:
            return [
                identity,
                *(not_reached(StepKind.KUBE_ACCESS, NO_CREDENTIALS, _where(e)) for e in expected),
            ]
        return [identity, *(self._can_i(api, credentials.arn, e) for e in expected)]

    def _can_i(self, api: Any, caller: str, expectation: KubeExpectation) -> Step:
        """One access review, retried while denied (an access policy not yet honoured)."""
        from kubetrust.adapters import verify_kube

        step, waited = self.patience.run(
            f"{_where(expectation)} for {caller}",
            lambda: verify_kube.can_i(api, caller, expectation),
            refused_with(frozenset({"", KUBE_UNAUTHORIZED})),
        )
        return noted(step, waited)


def _where(expectation: KubeExpectation) -> str:
    return f"{expectation.request.describe()} in cluster {expectation.cluster}"
