"""For EKS (and IAM), moto runs the operation the gate authorized, on the labels it authorized.

The gate routes an EKS request with botocore's model (:mod:`kubetrust.sandbox.aws.operations`,
labels one raw segment each, then percent-decoded) and authorizes the operation on the
resources its labels name. moto routes the same request *again*: its Flask app matches the
decoded path against its own ``urls.py``, then its REST router matches the raw path against
botocore's model (the last label greedy), and its handlers read each label with
``_get_param``, which prefers a query parameter, then a JSON member, then the path; the tag
handlers read the ARN back from the path. If the two ever differ, a caller allowed
``eks:DescribeCluster`` on cluster ``a`` runs another operation, or on cluster ``b``.

This is a differential test, in process (the technique of ``test_s3_dispatch_agreement``):
for every EKS operation of botocore's model × label values × path shapes (encodings, ``%2F``
and ``%252F``, trailing and doubled slashes, dot segments, encoded ``?``/``#``, method and
path case, shadowing query/body members), it asks the gate (``identify_operation`` and the
environ ``forward`` builds) and moto's EKS app (``create_backend_app("eks")``, as the
sandbox makes it), whose ``call_action`` is replaced, in this test only, by a recorder of the
action and the label values its handler would read; nothing executes. It asserts: the gate
refuses, or moto runs the authorized operation on the authorized labels, or moto cannot run
it (its ``forward`` answers 400). The operations the sandbox answers itself
(``aws/services/eks/api``) are checked the same way against the labels their handlers read.

For IAM (query protocol) the gate re-encodes the form it authorized, so moto's ``Action`` is
the gate's whatever the client sent twice, in the query and the body, or in another case.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import pytest

from kubetrust.sandbox.aws import forward, operations, wire
from kubetrust.sandbox.aws.request import RawRequest
from kubetrust.sandbox.aws.services.eks.api import EksExtras

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/team/access-policies/r1"
POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
CLUSTER_ARN = f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/c1"

LABEL_VALUES: dict[str, list[str]] = {
    # per label: an ordinary value and values whose raw and decoded forms differ
    "name": ["c1", "c1/node-groups", "c1%2Fx", "a?b", "a#b", "..", "C1"],
    "principalArn": [ROLE, f"arn:aws:iam::{ACCOUNT}:role/r1", "x/access-policies/y"],
    "policyArn": [POLICY, "p/../q"],
    "resourceArn": [CLUSTER_ARN, f"{CLUSTER_ARN}/../../x"],
}
DEFAULT_VALUES = ["x1", "x1/update-config", "x%2Fy"]
EXTRA_HANDLED = frozenset(
    # the operations EksExtras answers itself (its handler table); CreateCluster,
    # UpdateClusterConfig and DescribeUpdate fall through to moto when not about access
    {
        "CreateCluster",
        "UpdateClusterConfig",
        "DescribeUpdate",
        "CreateAccessEntry",
        "DescribeAccessEntry",
        "ListAccessEntries",
        "UpdateAccessEntry",
        "DeleteAccessEntry",
        "AssociateAccessPolicy",
        "DisassociateAccessPolicy",
        "ListAssociatedAccessPolicies",
        "ListAccessPolicies",
        "CreatePodIdentityAssociation",
        "DescribePodIdentityAssociation",
        "ListPodIdentityAssociations",
        "UpdatePodIdentityAssociation",
        "DeletePodIdentityAssociation",
        "CreateAddon",
        "DescribeAddon",
        "ListAddons",
        "DeleteAddon",
    }
)
EXTRA_LABEL_INDEX = {
    "name": 1,
    "principalArn": 3,
    "updateId": 3,
    "associationId": 3,
    "addonName": 3,
    "policyArn": 5,
}
"""Which path segment each handler of ``aws/services/eks/api`` reads as which label."""


class _Dispatched(Exception):
    """Raised in moto's ``call_action``, so that nothing executes."""


class _Recorder:
    def __init__(self) -> None:
        self.seen: tuple[str | None, dict[str, Any]] | None = None
        self.labels: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def moto_eks() -> Iterator[tuple[Any, _Recorder]]:
    """moto's EKS app whose dispatch records (action, label values as the handler reads
    them) instead of executing."""
    from moto.core.utils import camelcase_to_underscores
    from moto.eks.responses import EKSResponse
    from moto.moto_server.werkzeug_app import create_backend_app

    app = create_backend_app("eks")
    recorder = _Recorder()

    def call_action(self: Any) -> Any:
        action = self._get_action()
        ran = action if hasattr(EKSResponse, camelcase_to_underscores(action or "")) else None
        values: dict[str, Any] = {}
        for label in recorder.labels:
            if label == "resourceArn":  # the tag handlers read the ARN back from the path
                values[label] = self._extract_arn_from_path()
            else:
                values[label] = self._get_param(label)
        recorder.seen = (ran, values)
        raise _Dispatched

    mp = pytest.MonkeyPatch()
    assert hasattr(EKSResponse, "_extract_arn_from_path")  # moto renamed its tag helper
    mp.setattr(EKSResponse, "call_action", call_action)
    yield app, recorder
    mp.undo()


# --------------------------------------------------------------------------- the two sides


def _client_environ() -> dict[str, Any]:
    return {"wsgi.errors": io.StringIO(), "wsgi.version": (1, 0), "REMOTE_ADDR": "127.0.0.1"}


def _gate(request: RawRequest) -> tuple[str, dict[str, str]] | None:
    """The gate's decision: ``(operation, decoded labels)``, or ``None`` if refused."""
    body = request.body
    json_body = None
    if body:
        try:
            parsed = json.loads(body)
        except ValueError:
            return None
        json_body = parsed if isinstance(parsed, dict) else None
    query = parse_qs(request.raw_query, keep_blank_values=True)
    try:
        op = operations.identify_operation(
            "eks",
            request.method,
            unquote(request.raw_path),
            query,
            {},
            json_body,
            "",
            ACCOUNT,
            REGION,
            headers=request.headers,
            raw_path=request.raw_path,
            body=body,
        )
    except wire.AwsError:
        return None
    if op is None:
        return None
    labels = operations.route_labels(
        "eks",
        request.method,
        unquote(request.raw_path),
        query,
        headers=request.headers,
        raw_path=request.raw_path,
    )
    return op.name, labels


def _moto(
    app: Any,
    recorder: _Recorder,
    request: RawRequest,
    decided: tuple[str, Any],
    override: dict[str, str] | None = None,
) -> Any:
    """What moto's EKS runs for the environ the gate builds: ``(action, labels)``, or
    ``None`` when it cannot run it (no route, an action it lacks: ``forward`` answers 400)."""
    operation, labels = decided
    target = forward.Target(
        "eks", operation, ACCOUNT, REGION, "AKIAEXAMPLE", None, request.raw_path
    )
    environ = forward.moto_environ(_client_environ(), request, target) | (override or {})
    if not forward.has_route(app, environ):
        return None
    recorder.seen = None
    recorder.labels = tuple(labels)
    try:
        b"".join(app(environ, lambda *a: lambda data: None))
    except _Dispatched:
        pass
    except Exception:  # moto fails before choosing: forward() answers a 400
        return None
    if recorder.seen is None or recorder.seen[0] is None:
        return None
    return recorder.seen


def _extras(request: RawRequest) -> dict[str, str]:
    """The labels the handlers of ``aws/services/eks/api`` read from the same request."""
    caller = SimpleNamespace(account=ACCOUNT)
    call = EksExtras._call(SimpleNamespace(region=REGION), caller, request)  # type: ignore[arg-type]
    return {label: call.label(index) for label, index in EXTRA_LABEL_INDEX.items()}


# --------------------------------------------------------------------------- cases

_LABEL = re.compile(r"\{([A-Za-z0-9_]+)\+?\}")


def _model_routes() -> list[tuple[str, str, str, list[str]]]:
    """``(operation, method, requestUri path, label names)`` of every EKS operation."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("eks")
    found = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path = str(http["requestUri"]).partition("?")[0]
        found.append((name, str(http["method"]), path, _LABEL.findall(path)))
    return found


def _encodings(value: str) -> list[str]:
    """Raw forms of a label value: as SDKs send it, slashes left bare, double-encoded,
    ``%2F`` lower-case, everything encoded."""
    sdk = quote(value, safe="")
    return sorted(
        {
            sdk,
            quote(value, safe="/:"),
            quote(sdk, safe=""),
            sdk.replace("%2F", "%2f"),
            "".join(f"%{b:02X}" for b in value.encode()),
        }
    )


def _shapes(raw: str) -> list[str]:
    """Path shapes around a routed path: trailing, doubled and dot segments, case."""
    head, _, tail = raw.rpartition("/")
    return [
        raw,
        raw + "/",
        raw + "//",
        raw.replace("/", "//", 1),
        f"{head}/./{tail}" if head else raw,
        f"{head}/x/../{tail}" if head else raw,
        f"{head}/%2E%2E/{tail}" if head else raw,
        raw.replace("clusters", "Clusters"),
        raw + "%3F",
        raw + "%23",
        raw + ";x",
    ]


def _fill(path: str, labels: list[str], values: dict[str, str]) -> str:
    for label in labels:
        path = re.sub(r"\{" + label + r"\+?\}", values[label], path)
    return path


def _cases() -> list[RawRequest]:
    cases = []
    for _name, method, path, labels in _model_routes():
        choices = [
            [
                (label, raw)
                for value in LABEL_VALUES.get(label, DEFAULT_VALUES)
                for raw in _encodings(value)
            ]
            for label in labels
        ]
        for combo in itertools.islice(itertools.product(*choices), 60):
            filled = _fill(path, labels, dict(combo))
            for shape in _shapes(filled):
                for verb in {method, method.lower()}:
                    cases.append(_request(verb, shape, "", b""))
            # members that shadow a path label in moto's _get_param (query first, then body)
            shadow = "&".join(f"{label}=evil" for label in labels) or "name=evil"
            cases.append(_request(method, filled, shadow, b""))
            body = json.dumps({label: "evil" for label in labels} | {"name": "evil"})
            cases.append(_request(method, filled, "", body.encode()))
            cases.append(_request(method, filled, "Action=DeleteCluster", b""))
    return cases


def _request(method: str, path: str, query: str, body: bytes) -> RawRequest:
    headers = {"host": f"eks.{REGION}.amazonaws.com", "content-type": "application/json"}
    return RawRequest(method, path, query, headers, body)


def _disagreements(
    app: Any, recorder: _Recorder, cases: list[RawRequest]
) -> tuple[list[str], int, int]:
    wrong = []
    forwarded = ran = 0
    for request in cases:
        decided = _gate(request)
        if decided is None:
            continue
        forwarded += 1
        operation, labels = decided
        where = f"{request.method} {request.raw_path}?{request.raw_query} {request.body[:60]!r}"
        if operation in EXTRA_HANDLED:
            read = _extras(request)
            for label, value in labels.items():
                if label in read and read[label] != value:
                    wrong.append(
                        f"{where}: gate {operation} {label}={value!r}, "
                        f"the EKS extras read {read[label]!r}"
                    )
        seen = _moto(app, recorder, request, decided)
        if seen is None:
            continue
        ran += 1
        action, values = seen
        if action != operation or values != labels:
            wrong.append(f"{where}: gate {operation} {labels}, moto {action} {values}")
    return wrong, forwarded, ran


# --------------------------------------------------------------------------- tests


def test_every_eks_request_runs_as_authorized_or_not_at_all(moto_eks: Any) -> None:
    app, recorder = moto_eks
    cases = _cases()
    started = time.monotonic()
    wrong, forwarded, ran = _disagreements(app, recorder, cases)
    assert not wrong, f"{len(wrong)} of {len(cases)}:\n" + "\n".join(wrong[:60])
    assert forwarded > 1000 and ran > 200, (forwarded, ran)  # the test compared something
    assert time.monotonic() - started < 60


ARN_PATH = "/tags/" + quote(CLUSTER_ARN, safe="")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", ARN_PATH + ";x"),  # moto read `;x` as URL parameters: tagged cluster/c1
        ("POST", ARN_PATH + "/"),  # moto kept the `/` in the ARN
        ("GET", ARN_PATH + "/;x"),
        ("DELETE", ARN_PATH + ";"),
        ("GET", "/clusters/c1;x"),
        ("GET", "/clusters/c1/node-groups/n1;x/"),
    ],
)
def test_the_known_disagreements_are_closed(moto_eks: Any, method: str, path: str) -> None:
    app, recorder = moto_eks
    request = _request(method, path, "tagKeys=k" if method == "DELETE" else "", b"")
    decided = _gate(request)
    if decided is not None:
        seen = _moto(app, recorder, request, decided)
        assert seen is None or seen == decided, (decided, seen)


def test_the_recorder_sees_a_disagreement_when_the_client_path_reaches_moto(
    moto_eks: Any,
) -> None:
    """The test can fail: with the client's own path (what moto got before), moto tags
    ``cluster/c1`` for a request the gate authorized on ``cluster/c1;x``."""
    app, recorder = moto_eks
    request = _request("POST", ARN_PATH + ";x", "", b"")
    decided = _gate(request)
    assert decided == ("TagResource", {"resourceArn": CLUSTER_ARN + ";x"})
    raw = dict(RAW_URI=request.raw_path, PATH_INFO=unquote(request.raw_path))
    assert _moto(app, recorder, request, decided, raw) == (
        "TagResource",
        {"resourceArn": CLUSTER_ARN},
    )


# --------------------------------------------------------------------------- IAM


@pytest.fixture(scope="module")
def moto_iam() -> Iterator[tuple[Any, _Recorder]]:
    """moto's IAM app whose dispatch records (Action, RoleName) instead of executing."""
    from moto.iam.responses import IamResponse
    from moto.moto_server.werkzeug_app import create_backend_app

    app = create_backend_app("iam")
    recorder = _Recorder()

    def call_action(self: Any) -> Any:
        recorder.seen = (self._get_action(), {"RoleName": self._get_param("RoleName")})
        raise _Dispatched

    mp = pytest.MonkeyPatch()
    mp.setattr(IamResponse, "call_action", call_action)
    yield app, recorder
    mp.undo()


IAM_FORMS = [
    # (query, body): Action and RoleName twice, in the query and the body, in other cases
    ("", "Action=GetRole&Action=DeleteRole&RoleName=a"),
    ("", "Action=DeleteRole&Action=GetRole&RoleName=a"),
    ("Action=DeleteRole", "Action=GetRole&RoleName=a"),
    ("Action=GetRole&RoleName=a", ""),
    ("Action=GetRole&Action=DeleteRole&RoleName=a", ""),
    ("RoleName=b", "Action=GetRole&RoleName=a"),
    ("", "Action=GetRole&RoleName=a&RoleName=b"),
    ("", "Action=GetRole&RoleName=b&RoleName=a"),
    ("", "action=DeleteRole&Action=GetRole&RoleName=a"),
    ("", "ACTION=DeleteRole&Action=GetRole&RoleName=a"),
    ("", "Action=GetRole&rolename=b&RoleName=a"),
    ("Action=DeleteRole&RoleName=b", "Action=GetRole&RoleName=a"),
]


@pytest.mark.parametrize(("query", "body"), IAM_FORMS)
def test_iam_runs_the_authorized_action_on_the_authorized_role(
    moto_iam: Any, query: str, body: str
) -> None:
    app, recorder = moto_iam
    form = "application/x-www-form-urlencoded; charset=utf-8"
    request = RawRequest("POST", "/", query, {"content-type": form}, body.encode())
    op = operations.identify_operation(
        "iam",
        "POST",
        "/",
        parse_qs(query, keep_blank_values=True),
        request.form(),
        None,
        "",
        ACCOUNT,
        REGION,
    )
    assert op is not None
    authorized_role = op.resources[0].rsplit("/", 1)[-1]
    target = forward.Target("iam", op.name, ACCOUNT, REGION, "AKIAEXAMPLE", None, "/")
    environ = forward.moto_environ(_client_environ(), request, target)
    recorder.seen = None
    with pytest.raises(_Dispatched):
        b"".join(app(environ, lambda *a: lambda data: None))
    assert recorder.seen == (op.name, {"RoleName": authorized_role})
