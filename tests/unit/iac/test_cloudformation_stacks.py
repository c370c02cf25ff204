"""Templates read together: ``Fn::ImportValue`` of another given template's export (same
account and region only), policies attached to a role another template declares, and
``--parameter`` values over the defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.iac.cloudformation import read_templates
from kubetrust.iac.model import IacWorld

CI, OTHER = "111111111111", "222222222222"

CLUSTER_STACK = """\
Parameters:
  ClusterName: {Type: String, Default: ci-cluster}
Resources:
  Cluster:
    Type: AWS::EKS::Cluster
    Properties:
      Name: !Ref ClusterName
      RoleArn: !Sub arn:aws:iam::${AWS::AccountId}:role/eks
      ResourcesVpcConfig: {SubnetIds: [subnet-1]}
Outputs:
  Issuer:
    Value: !GetAtt Cluster.OpenIdConnectIssuerUrl
    Export: {Name: ci-cluster-issuer}
  ClusterName:
    Value: !Ref Cluster
    Export:
      Name: !Sub ${ClusterName}-name
  StackScoped:
    Value: whatever
    Export:
      Name: !Sub ${AWS::StackName}-scoped
"""

ROLES_STACK = """\
Resources:
  Deployer:
    Type: AWS::IAM::Role
    Properties:
      RoleName: deployer
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal:
              Federated: !Sub
                - arn:aws:iam::${AWS::AccountId}:oidc-provider/${Host}
                - Host: !Select [1, !Split ["//", !ImportValue ci-cluster-issuer]]
            Action: sts:AssumeRoleWithWebIdentity
      Tags:
        - Key: cluster
          Value: !ImportValue ci-cluster-name
        - Key: scoped
          Value: !ImportValue roles-scoped
"""

POLICY_STACK = """\
Resources:
  DeployerExtra:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [deployer]
      PolicyDocument:
        Statement: [{Effect: Allow, Action: eks:ListClusters, Resource: "*"}]
  DeployerManaged:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: deployer-managed
      Roles: [deployer, not-declared-anywhere]
      PolicyDocument:
        Statement: [{Effect: Allow, Action: eks:DescribeCluster, Resource: "*"}]
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def roles(world: IacWorld) -> dict[str, dict[str, Any]]:
    return {role["name"]: role for role in world.world["accounts"][0].get("roles", [])}


def test_an_import_resolves_to_the_export_of_another_template_of_the_account(
    tmp_path: Path,
) -> None:
    cluster = write(tmp_path, "cluster.yaml", CLUSTER_STACK)
    stack = write(tmp_path, "roles.yaml", ROLES_STACK)
    cluster_world, roles_world = read_templates([f"{cluster}:{CI}", f"{stack}:{CI}"], {})
    issuer = cluster_world.world["clusters"][0]["issuer"]
    deployer = roles(roles_world)["deployer"]
    federated = deployer["trust"]["Statement"][0]["Principal"]["Federated"]
    # the same placeholder as the cluster's issuer: tied, not a new unknown
    assert federated == f"arn:aws:iam::{CI}:oidc-provider/{issuer.removeprefix('https://')}"
    assert deployer["tags"]["cluster"] == "ci-cluster"  # export name from a !Sub
    assert not any("ci-cluster-issuer" in w for w in roles_world.warnings)


def test_an_export_name_with_the_stack_name_matches_nothing_and_is_said(tmp_path: Path) -> None:
    cluster = write(tmp_path, "cluster.yaml", CLUSTER_STACK)
    stack = write(tmp_path, "roles.yaml", ROLES_STACK)
    cluster_world, roles_world = read_templates([f"{cluster}:{CI}", f"{stack}:{CI}"], {})
    assert "KNOWN-AFTER-APPLY-" in roles(roles_world)["deployer"]["tags"]["scoped"]
    assert any(
        "Fn::ImportValue `roles-scoped` is known after apply" in w for w in roles_world.warnings
    )
    assert any("Outputs.StackScoped" in w for w in cluster_world.warnings)


def test_an_export_of_another_account_is_not_importable(tmp_path: Path) -> None:
    """CloudFormation exports are per account and region."""
    cluster = write(tmp_path, "cluster.yaml", CLUSTER_STACK)
    stack = write(tmp_path, "roles.yaml", ROLES_STACK)
    _, roles_world = read_templates([f"{cluster}:{OTHER}", f"{stack}:{CI}"], {})
    assert "KNOWN-AFTER-APPLY-" in roles(roles_world)["deployer"]["tags"]["cluster"]
    _, other_region = read_templates([f"{cluster}:{CI}:eu-west-1", f"{stack}:{CI}"], {})
    assert "KNOWN-AFTER-APPLY-" in roles(other_region)["deployer"]["tags"]["cluster"]


def test_an_export_declared_twice_in_an_account_is_an_error(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", CLUSTER_STACK)
    second = write(tmp_path, "b.yaml", CLUSTER_STACK)
    stack = write(tmp_path, "roles.yaml", ROLES_STACK)
    with pytest.raises(errors.InputError, match=r"exported twice.*a\.yaml.*b\.yaml"):
        read_templates([f"{first}:{CI}", f"{second}:{CI}", f"{stack}:{CI}"], {})


def test_exports_that_import_each_other_are_an_error_not_a_loop(tmp_path: Path) -> None:
    looped = """\
Resources:
  R:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !ImportValue {name}
      AssumeRolePolicyDocument: {{Statement: []}}
Outputs:
  O:
    Value: !ImportValue {name}
    Export: {{Name: {own}}}
"""
    a = write(tmp_path, "a.yaml", looped.format(name="b-name", own="a-name"))
    b = write(tmp_path, "b.yaml", looped.format(name="a-name", own="b-name"))
    with pytest.raises(errors.InputError, match="refer to each other"):
        read_templates([f"{a}:{CI}", f"{b}:{CI}"], {})


def test_a_policy_for_a_role_of_another_template_is_merged_into_it(tmp_path: Path) -> None:
    stack = write(tmp_path, "roles.yaml", ROLES_STACK)
    policies = write(tmp_path, "policies.yaml", POLICY_STACK)
    roles_world, policy_world = read_templates([f"{stack}:{CI}", f"{policies}:{CI}"], {})
    deployer = roles(roles_world)["deployer"]
    assert list(deployer["policies"]) == ["extra"]
    assert deployer["managed"] == [f"arn:aws:iam::{CI}:policy/deployer-managed"]
    # the one no template declares: a partial role, for the base's role of that name
    partial = roles(policy_world)["not-declared-anywhere"]
    assert partial["partial"] is True
    assert partial["managed"] == [f"arn:aws:iam::{CI}:policy/deployer-managed"]
    assert any("role not-declared-anywhere is not declared" in w for w in policy_world.warnings)
    assert not any("role deployer " in w for w in policy_world.warnings)


def test_a_policy_for_a_role_of_another_account_is_not_merged(tmp_path: Path) -> None:
    stack = write(tmp_path, "roles.yaml", ROLES_STACK)
    policies = write(tmp_path, "policies.yaml", POLICY_STACK)
    roles_world, policy_world = read_templates([f"{stack}:{CI}", f"{policies}:{OTHER}"], {})
    assert roles(roles_world)["deployer"]["policies"] == {}
    assert roles(policy_world)["deployer"]["partial"] is True


PARAMETERS = """\
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Team: {Type: String}
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub ${Team}-${Env}
      AssumeRolePolicyDocument: {Statement: []}
"""


def test_parameters_override_defaults_for_all_or_one_template(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", PARAMETERS)
    b = write(tmp_path, "b.yaml", PARAMETERS)
    specs = [f"{a}:{CI}", f"{b}:{CI}"]
    first, second = read_templates(specs, {}, ["Team=platform", "b.yaml:Env=prod"])
    assert list(roles(first)) == ["platform-dev"]
    assert list(roles(second)) == ["platform-prod"]
    assert not any("has no Default" in w for w in first.warnings)
    (stem,) = read_templates([specs[0]], {}, ["a:Team=x", f"{a}:Env=prod"])
    assert list(roles(stem)) == ["x-prod"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["Missing=1"], "no template given declares parameter Missing"),
        (["c.yaml:Team=x"], "no template c.yaml declares parameter Team"),
        (["Env=staging"], "allows Env to be only dev, prod"),
        (["Team"], "expected KEY=VALUE or FILE:KEY=VALUE"),
        (["a.yaml:=x"], "expected KEY=VALUE"),
        ([":Team=x"], "expected KEY=VALUE"),
    ],
)
def test_parameters_no_template_takes_are_errors(
    tmp_path: Path, values: list[str], message: str
) -> None:
    a = write(tmp_path, "a.yaml", PARAMETERS)
    with pytest.raises(errors.InputError, match=message):
        read_templates([f"{a}:{CI}"], {}, values)
