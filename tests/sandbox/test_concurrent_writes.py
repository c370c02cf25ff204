"""Concurrent calls reach moto one at a time, with the gate's write checks in the same step.

moto's backends are plain dicts: a listing (``ListRoles``, GAAD, ``CreateRole``'s own name
check) iterating them while another thread's ``CreateRole`` inserts failed with
``RuntimeError``, which the sandbox answered as a 400 "not emulated" (seen once under the
load test in tests/sandbox/test_robustness.py). The gate runs IAM's write-time checks and
moto under one lock (``Gate.moto_lock``); this test fails without it.
"""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import pytest

THREADS = 8
STEPS = 6

TRUST = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


@pytest.fixture
def eager_switching() -> Iterator[None]:
    """Threads switch every microsecond instead of every 5 ms (the sandbox serves in this
    process), so that interleavings a loaded machine meets by chance happen every time."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def test_listings_and_writes_at_once_lose_nothing(aws: Any, eager_switching: None) -> None:
    path = f"/busy-{uuid.uuid4().hex[:8]}/"
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(index: int) -> None:
        iam = aws.client("iam", account=aws.CI)
        start.wait(timeout=30)
        for step in range(STEPS):
            try:
                if index % 2:
                    iam.list_roles(MaxItems=1000)
                    iam.get_account_authorization_details(Filter=["Role"], MaxItems=50)
                else:
                    iam.create_role(
                        RoleName=f"busy-{index}-{step}", Path=path, AssumeRolePolicyDocument=TRUST
                    )
            except botocore.exceptions.ClientError as exc:
                with lock:
                    failures.append(f"{index}/{step}: {exc}")

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    iam = aws.client("iam", account=aws.CI)
    listed = {
        role["RoleName"]
        for page in iam.get_paginator("list_roles").paginate(PathPrefix=path)
        for role in page["Roles"]
    }
    assert len(listed) == (THREADS // 2) * STEPS
