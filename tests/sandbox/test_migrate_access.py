"""``kubetrust migrate access-entries`` end to end, on a private sandbox (issue 15, done-when 1).

A ``CONFIG_MAP`` cluster of the world file with a realistic aws-auth — a masters role, a role
in a group bound to ``view`` (and one bound to ``edit`` in a namespace, with a templated
username), an IAM user with access keys, a node role, a ``mapAccounts`` entry, a role in a
``system:`` group access entries cannot grant — is migrated by the CLI as a subprocess. Before
and after, **as each principal** (the real aws CLI with a private HOME and a profile per
principal, kubectl whose exec plugin is ``aws eks get-token``), ``kubectl auth can-i`` answers
exactly the same. A ``--mode API`` run that would lock principals out is refused first, naming
them, and changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from .migratekit import Legacy, access_world
from .migratekit import role_arn as role_arn_in
from .realismkit import private_sandbox

T = "440000000002"
"""This module's account (never the session sandbox's: tests/sandbox/migratekit.py)."""
WORLD = access_world(T)


def role_arn(name: str, with_path: bool = False) -> str:
    return role_arn_in(T, name, with_path)


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Legacy]:
    base = tmp_path_factory.mktemp("migrate-access")
    with private_sandbox(base, WORLD) as sandbox:
        yield Legacy(sandbox, base, T)


def test_the_migration_keeps_every_principals_answers_and_a_rerun_plans_nothing(
    legacy: Legacy,
) -> None:
    before = legacy.answers()
    assert before["admins"][5][:2] == (0, "yes") and before["viewers"][0][:2] == (0, "yes")
    assert before["viewers"][1][:2] == (1, "no") and before["ops"][2][:2] == (0, "yes")
    assert before["monitor"][0][2] is False  # mapped (its group grants nothing by itself)

    refused = legacy.migrate("--mode", "API", "--apply")
    assert refused.returncode == 2, str(refused)
    assert f"{role_arn('monitor')} would lose access" in refused.stdout
    assert "system:monitoring" in refused.stdout
    assert "333333333333 (mapAccounts[0]) would be locked out" in refused.stdout
    assert "Refused: nothing was changed" in refused.stdout
    assert legacy.mode() == "CONFIG_MAP" and not (legacy.base / "backups").exists()

    plan = legacy.migrate()
    (legacy.base / "plan.txt").write_text(plan.stdout + plan.stderr)
    assert plan.returncode == 0, str(plan)
    assert "CONFIG_MAP → API_AND_CONFIG_MAP" in plan.stdout and "one way only" in plan.stdout
    assert legacy.mode() == "CONFIG_MAP"

    applied = legacy.migrate("--apply", "--output", "json")
    assert applied.returncode == 0, str(applied)
    report = json.loads(applied.stdout)
    assert {i["source"] for i in report["not_carried"]} == {"mapRoles[4]", "mapAccounts[0]"}
    assert role_arn("viewers", with_path=True) in {
        e["principal"] for e in report["plan"]["entries"]
    }
    assert {d["verdict"] for d in report["recheck"]} == {"same"}, report["recheck"]
    (node,) = [d for d in report["proof"] if d["principal"]["key"] == role_arn("nodes")]
    assert node["verdict"] == "same" and node["before"]["allowed_count"] > 0  # seen as a node
    seen = "system:node:ip-192-0-2-10.ec2.internal, groups [system:bootstrappers, system:nodes]"
    assert seen in node["before"]["identities"][0]
    assert "groups [system:nodes] (access entry" in node["after"]["identities"][0]
    (entry,) = [e for e in report["plan"]["entries"] if e["type"] == "EC2_LINUX"]
    assert entry["dropped_groups"] == ["system:bootstrappers"]
    assert report["recheck_differs"] == []
    assert legacy.mode() == "API_AND_CONFIG_MAP"
    entries = legacy.eks.list_access_entries(clusterName="legacy")["accessEntries"]
    assert role_arn("viewers", with_path=True) in entries

    after = legacy.answers()
    assert after == before

    again = legacy.migrate()
    assert again.returncode == 0, str(again)
    assert "nothing to migrate" in again.stdout
    assert "mapAccounts[0]" in again.stdout  # still reported


def test_a_bad_cluster_name_is_an_input_error(legacy: Legacy) -> None:
    done = legacy.migrate("--account", "111111111111")
    assert done.returncode == 3 and "no cluster `legacy` in account 111111111111" in done.stderr
