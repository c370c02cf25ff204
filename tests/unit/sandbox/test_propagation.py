"""IAM propagation's ledger (sandbox/aws/propagation.py) over moto's in-process IAM, with a
fake clock: the other services see IAM as it was before a change until it settles."""

from __future__ import annotations

import json
import uuid

import pytest

from kubetrust.sandbox.aws import state
from kubetrust.sandbox.aws.propagation import Propagation

ACCOUNT = "987650000001"  # an account no sandbox of the unit tier claims


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def _policy(action: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
        }
    )


def _write(view: Propagation, operation: str, form: dict[str, str], write: object) -> None:
    """What the gate does around moto: capture, the write, commit."""
    pending = view.capture(operation, {k: [v] for k, v in form.items()}, ACCOUNT)
    assert callable(write)
    write()
    assert pending is not None
    pending.commit()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def view(clock: Clock) -> Propagation:
    return Propagation(2.0, clock)


def _new_role_name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def test_created_role_is_absent_until_it_settles(view: Propagation, clock: Clock) -> None:
    name = _new_role_name()
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    _write(
        view,
        "CreateRole",
        {"RoleName": name},
        lambda: state.create_role(ACCOUNT, name, _trust("*"), "/", 3600, {}),
    )
    assert state.role_by_arn(arn) is not None  # IAM reads its own write
    assert view.role_by_arn(arn) is None
    assert not view.principal_visible(arn)
    clock.now += 1.9
    assert view.role_by_arn(arn) is None
    clock.now += 0.2
    seen = view.role_by_arn(arn)
    assert seen is not None and seen.name == name
    assert view.principal_visible(arn)


def test_changed_trust_shows_the_old_document_in_the_window(
    view: Propagation, clock: Clock
) -> None:
    name = _new_role_name()
    state.create_role(ACCOUNT, name, _trust("arn:aws:iam::111111111111:root"), "/", 3600, {})
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    new = _trust("arn:aws:iam::222222222222:root")
    _write(
        view,
        "UpdateAssumeRolePolicy",
        {"RoleName": name},
        lambda: state.iam(ACCOUNT).update_assume_role_policy(name, new),
    )
    before = view.role_by_arn(arn)
    assert before is not None and "111111111111" in before.trust_policy
    clock.now += 2.5
    after = view.role_by_arn(arn)
    assert after is not None and "222222222222" in after.trust_policy


def test_two_changes_settle_in_order(view: Propagation, clock: Clock) -> None:
    name = _new_role_name()
    state.create_role(ACCOUNT, name, _trust("*"), "/", 3600, {"a": _policy("s3:GetObject")})
    _write(
        view,
        "PutRolePolicy",
        {"RoleName": name},
        lambda: state.iam(ACCOUNT).put_role_policy(name, "b", _policy("iam:GetRole")),
    )
    clock.now += 1.0
    _write(
        view,
        "DeleteRolePolicy",
        {"RoleName": name},
        lambda: state.iam(ACCOUNT).delete_role_policy(name, "a"),
    )
    assert len(view.role_policies(ACCOUNT, name)[0]) == 1  # the first: only a
    assert "s3:GetObject" in view.role_policies(ACCOUNT, name)[0][0]
    clock.now += 1.5  # the put settled, not the delete: a and b
    assert len(view.role_policies(ACCOUNT, name)[0]) == 2
    clock.now += 1.0  # both: only b
    (only,) = view.role_policies(ACCOUNT, name)[0]
    assert "iam:GetRole" in only


def test_new_access_key_is_unknown_until_it_settles(view: Propagation, clock: Clock) -> None:
    user = f"u-{uuid.uuid4().hex[:8]}"
    state.iam(ACCOUNT).create_user("us-east-1", user)
    made: list[str] = []
    _write(
        view,
        "CreateAccessKey",
        {"UserName": user},
        lambda: made.append(state.iam(ACCOUNT).create_access_key(user).access_key_id),
    )
    assert state.access_key(made[0]) is not None
    assert view.access_key(made[0]) is None
    clock.now += 2.1
    assert view.access_key(made[0]) is not None


def test_new_oidc_provider_is_unknown_until_it_settles(view: Propagation, clock: Clock) -> None:
    url = f"https://oidc.example/{uuid.uuid4().hex[:8]}"
    _write(
        view,
        "CreateOpenIDConnectProvider",
        {"Url": url},
        lambda: state.iam(ACCOUNT).create_open_id_connect_provider(url, ["a" * 40], ["sts"], []),
    )
    assert view.oidc_provider(ACCOUNT, url) is None
    clock.now += 2.1
    found = view.oidc_provider(ACCOUNT, url)
    assert found is not None and found.client_ids == ("sts",)


def test_a_refused_write_records_nothing(view: Propagation) -> None:
    name = _new_role_name()
    pending = view.capture("CreateRole", {"RoleName": [name]}, ACCOUNT)
    assert pending is not None  # never committed: moto refused the write
    state.create_role(ACCOUNT, name, _trust("*"), "/", 3600, {})
    assert view.role_by_arn(f"arn:aws:iam::{ACCOUNT}:role/{name}") is not None


def test_off_records_nothing(clock: Clock) -> None:
    view = Propagation(0.0, clock)
    assert view.capture("CreateRole", {"RoleName": ["x"]}, ACCOUNT) is None
    assert view.capture("CreateAccessKey", {}, ACCOUNT) is None


def test_unrelated_iam_writes_are_not_delayed(view: Propagation) -> None:
    assert view.capture("TagRole", {"RoleName": ["x"]}, ACCOUNT) is None
    assert view.capture("DeleteRole", {"RoleName": ["x"]}, ACCOUNT) is None
