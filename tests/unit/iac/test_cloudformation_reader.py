"""Reading CloudFormation templates: short forms and line numbers, intrinsics resolved where
the template allows, placeholders otherwise, the account of each file, located errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubetrust import errors
from kubetrust.iac.cloudformation import parse_spec, read_templates
from kubetrust.iac.model import IacWorld
from kubetrust.yaml_codec import load_cloudformation

ACCOUNT = "111111111111"

SHORT_FORMS = """\
AWSTemplateFormatVersion: 2010-09-09
Parameters:
  Env: {Type: String, Default: prod}
  Team: {Type: String}
Mappings:
  Regions:
    us-east-1: {Suffix: use1}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
Resources:
  Deployer:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Join ["-", [deployer, !Ref Env, !FindInMap [Regions, !Ref "AWS::Region", Suffix]]]
      Path: /ci/
      AssumeRolePolicyDocument:
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: !If [IsProd, prod-policy, dev-policy]
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: s3:GetObject
                Resource: !Sub
                  - "arn:aws:s3:::${Bucket}/${!literal}"
                  - Bucket: !Select [0, !Split [",", "logs,data"]]
      Tags:
        - {Key: team, Value: !Ref Team}
        - {Key: optional, Value: !If [NotProd, x, !Ref "AWS::NoValue"]}
  Generated:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Statement: []}
  Bucket:
    Type: AWS::S3::Bucket
  OnlyInDev:
    Type: AWS::IAM::Role
    Condition: NotProd
    Properties:
      AssumeRolePolicyDocument: {Statement: []}
"""


def write(tmp_path: Path, text: str, name: str = "stack.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def read_one(tmp_path: Path, text: str, name: str = "stack.yaml") -> IacWorld:
    (world,) = read_templates([f"{write(tmp_path, text, name)}:{ACCOUNT}"], {})
    return world


def roles(world: IacWorld) -> dict[str, dict[str, Any]]:
    return {role["name"]: role for role in world.world["accounts"][0].get("roles", [])}


def test_short_forms_become_long_forms_with_resource_lines() -> None:
    decoded = load_cloudformation(SHORT_FORMS)
    assert isinstance(decoded.template, dict)
    deployer = decoded.template["Resources"]["Deployer"]["Properties"]
    assert deployer["RoleName"]["Fn::Join"][1][1] == {"Ref": "Env"}
    assert decoded.template["Conditions"]["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert decoded.template["AWSTemplateFormatVersion"] == "2010-09-09"  # not a date
    assert decoded.resource_lines == {
        "Deployer": 12,
        "Generated": 34,
        "Bucket": 38,
        "OnlyInDev": 40,
    }


def test_getatt_short_form_splits_on_the_first_dot() -> None:
    decoded = load_cloudformation("Resources:\n  A: {Type: x, Properties: {V: !GetAtt B.C.D}}\n")
    assert isinstance(decoded.template, dict)
    assert decoded.template["Resources"]["A"]["Properties"]["V"] == {"Fn::GetAtt": ["B", "C.D"]}


def test_intrinsics_resolve_from_defaults_and_pseudo_parameters(tmp_path: Path) -> None:
    world = read_one(tmp_path, SHORT_FORMS)
    role = roles(world)["deployer-prod-use1"]
    assert role["path"] == "/ci/"
    assert role["trust"]["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert list(role["policies"]) == ["prod-policy"]
    statement = role["policies"]["prod-policy"]["Statement"][0]
    assert statement["Resource"] == "arn:aws:s3:::logs/${literal}"
    assert "optional" not in role["tags"]  # AWS::NoValue drops the value
    assert "OnlyInDev" not in str(world.world)  # its condition is false
    location = world.sources.locations[f"arn:aws:iam::{ACCOUNT}:role/ci/deployer-prod-use1"]
    assert (location.address, location.line) == ("Deployer", 12)


def test_what_the_template_cannot_know_stays_symbolic_and_is_said(tmp_path: Path) -> None:
    world = read_one(tmp_path, SHORT_FORMS)
    generated = [name for name in roles(world) if name.startswith("Generated-")]
    assert len(generated) == 1 and "KNOWN-AFTER-APPLY-" in generated[0]
    token = generated[0].removeprefix("Generated-")
    assert "Generated.RoleName" in world.sources.unknowns[token]
    team = roles(world)["deployer-prod-use1"]["tags"]["team"]
    assert team.startswith("Team-KNOWN-AFTER-APPLY-")
    warnings = "\n".join(world.warnings)
    assert "parameter Team has no Default" in warnings
    assert "stack.yaml:38 (Bucket): AWS::S3::Bucket is not modelled" in warnings


def test_a_json_template_gets_its_lines_too(tmp_path: Path) -> None:
    template = {
        "Resources": {
            "Provider": {
                "Type": "AWS::IAM::OIDCProvider",
                "Properties": {"Url": "https://token.actions.githubusercontent.com"},
            }
        }
    }
    world = read_one(tmp_path, json.dumps(template, indent="\t"), "stack.json")
    arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    assert world.sources.locations[arn].line == 3


ENTRY_FOR_AN_EXISTING_CLUSTER = """\
Resources:
  Entry:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: prod
      PrincipalArn: arn:aws:iam::111111111111:role/deployer
      KubernetesGroups: [deployers]
  Association:
    Type: AWS::EKS::PodIdentityAssociation
    Properties:
      ClusterName: prod
      Namespace: ci
      ServiceAccount: deployer
      RoleArn: !ImportValue ci-role-arn
      TargetRoleArn: arn:aws:iam::222222222222:role/target
  PolicyForAnotherStacksRole:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: extra
      Roles: [declared-elsewhere]
      PolicyDocument: {Statement: []}
"""


def test_entries_of_a_cluster_declared_elsewhere_make_a_partial_cluster(tmp_path: Path) -> None:
    world = read_one(tmp_path, ENTRY_FOR_AN_EXISTING_CLUSTER)
    (cluster,) = world.world["clusters"]
    assert cluster["partial"] is True and "issuer" not in cluster
    assert cluster["access_entries"][0]["kubernetesGroups"] == ["deployers"]
    association = cluster["pod_identity_associations"][0]
    assert "KNOWN-AFTER-APPLY-" in association["roleArn"]
    key = f"association:arn:aws:eks:us-east-1:{ACCOUNT}:cluster/prod:ci/deployer"
    assert world.sources.locations[key].line == 8
    warnings = "\n".join(world.warnings)
    assert "Fn::ImportValue `ci-role-arn` is known after apply" in warnings
    assert "stack.yaml:16 (PolicyForAnotherStacksRole): role declared-elsewhere" in warnings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: [a, b]\n", "Resources must be a mapping"),
        ("Description: no resources\n", "no Resources"),
        ("Resources:\n  A: {Properties: {}}\n", "stack.yaml:2: resource A has no Type"),
        ("Resources:\n  A:\n    Type: x\n    Properties: !Foo y\n", "unknown tag !Foo"),
        ("Resources:\n  A: {Type: x\n", "line"),
        (
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
            "      AssumeRolePolicyDocument: !Ref Missing\n",
            "stack.yaml:2 (R): Ref Missing: no such parameter or resource",
        ),
        (
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
            "      AssumeRolePolicyDocument: '{not json'\n",
            "stack.yaml:2 (R): AssumeRolePolicyDocument is not a JSON policy document",
        ),
        (
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
            "      RoleName: !Select [5, [a]]\n      AssumeRolePolicyDocument: {}\n",
            "stack.yaml:2 (R): Fn::Select index 5 out of 1 values",
        ),
        (
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n"
            "      RoleName: !GetAtt Nope.Arn\n      AssumeRolePolicyDocument: {}\n",
            "Fn::GetAtt Nope.Arn: no such resource",
        ),
        (
            "Resources:\n  R:\n    Type: AWS::IAM::Role\n",
            "stack.yaml:2 (R): AssumeRolePolicyDocument is required",
        ),
    ],
    ids=[
        "resources-list",
        "no-resources",
        "no-type",
        "unknown-tag",
        "bad-yaml",
        "bad-ref",
        "bad-json-policy",
        "select-range",
        "getatt-missing",
        "required",
    ],
)
def test_malformed_templates_are_located_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(errors.InputError, match=r"stack\.yaml") as raised:
        read_one(tmp_path, text)
    assert message in str(raised.value)


def test_the_account_comes_from_the_spec_then_the_account_map(tmp_path: Path) -> None:
    path = write(tmp_path, ENTRY_FOR_AN_EXISTING_CLUSTER)
    assert parse_spec(f"{path}:222222222222", {}).account == "222222222222"
    assert parse_spec(f"{path}:222222222222:eu-west-1", {}).region == "eu-west-1"
    assert parse_spec(path, {"stack.yaml": "333333333333"}).account == "333333333333"
    with pytest.raises(errors.InputError, match=r"--account-map .*stack\.yaml=ACCOUNT"):
        parse_spec(path, {})
    with pytest.raises(errors.InputError, match="no such file"):
        read_templates([f"{tmp_path / 'missing.yaml'}:{ACCOUNT}"], {})


def test_properties_of_the_wrong_shape_are_a_located_error_not_a_crash(tmp_path: Path) -> None:
    """Found by mutating the example templates: an access policy without its ARN reached the
    reader's indexing; a template that does not follow the documented shapes must say where."""
    text = """\
Resources:
  Entry:
    Type: AWS::EKS::AccessEntry
    Properties:
      ClusterName: target
      PrincipalArn: arn:aws:iam::222222222222:role/deployer
      AccessPolicies:
        - AccessScope: {Type: cluster}
"""
    with pytest.raises(errors.InputError) as raised:
        read_one(tmp_path, text)
    message = str(raised.value)
    assert "stack.yaml:2" in message and "Entry" in message
    assert "'PolicyArn' is missing" in message
