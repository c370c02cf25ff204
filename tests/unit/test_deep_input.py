"""Deeply nested input is refused with a clear error, never a ``RecursionError``.

Two depths matter (``errors`` module doc): past the decoder's own limit (``json`` and PyYAML
raise ``RecursionError``), and under it but past :data:`kubetrust.errors.MAX_NESTING`, where
the decoder succeeds and the recursive code that reads the value next would overflow.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kubetrust import errors, yaml_codec
from kubetrust.iac import cloudformation_template, terraform
from kubetrust.migrate import journal
from kubetrust.provision import source
from kubetrust.sandbox import world
from kubetrust.sandbox.client.state import SandboxState

FAR = "[" * 100_000
"""Past every decoder's limit (``json.loads`` raises ``RecursionError`` on it)."""


def nested(levels: int) -> str:
    """Valid JSON (and YAML flow style): ``levels`` objects within each other."""
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


ACCEPTED = nested(errors.MAX_NESTING)
UNDER_THE_DECODER = nested(950)
"""Decodes with ``json.loads`` (under Python's recursion limit of 1000) but is refused."""
SELF_ALIAS = "a: &x [*x]\n"
"""A YAML list that contains itself."""


def deep(*texts: str) -> pytest.MarkDecorator:
    """``text`` parametrized with short ids (the texts themselves are 100,000 characters)."""
    names = {FAR: "far", UNDER_THE_DECODER: "950", SELF_ALIAS: "self-alias"}
    return pytest.mark.parametrize("text", texts, ids=[names.get(t, str(len(t))) for t in texts])


# ------------------------------------------------------------------ errors.decode_json


@deep(FAR, UNDER_THE_DECODER, nested(errors.MAX_NESTING + 1))
def test_nesting_is_a_value_error_and_an_input_error(text: str) -> None:
    with pytest.raises(errors.NestingError, match="nested too deeply") as refused:
        errors.decode_json(text)
    assert isinstance(refused.value, ValueError)
    assert isinstance(refused.value, errors.InputError)


def test_the_deepest_accepted_nesting_decodes() -> None:
    assert errors.decode_json(ACCEPTED) == json.loads(ACCEPTED)


def test_malformed_json_is_still_a_decode_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        errors.decode_json('{"a": ')


def test_decoding_hooks_are_passed_on() -> None:
    assert errors.decode_json("[1.5]", parse_float=str) == ["1.5"]


# ------------------------------------------------------------------ errors.check_nesting


def test_a_list_that_contains_itself_is_refused() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(errors.NestingError, match="contains itself"):
        errors.check_nesting({"a": cycle})


def test_shared_containers_are_not_walked_once_per_path() -> None:
    """40 levels each holding the level below twice: 2**40 paths, 40 containers."""
    value: object = {}
    for _ in range(40):
        value = [value, value]
    started = time.monotonic()
    errors.check_nesting(value)
    assert time.monotonic() - started < 1.0


def test_a_shared_container_reached_deeper_later_is_still_checked() -> None:
    shared: object = json.loads(nested(errors.MAX_NESTING - 2))
    deeper: object = shared
    for _ in range(5):
        deeper = [deeper]
    with pytest.raises(errors.NestingError):
        errors.check_nesting([shared, deeper])


# ------------------------------------------------------------------ yaml_codec


@deep(FAR, UNDER_THE_DECODER, SELF_ALIAS)
def test_every_yaml_decoder_refuses_nesting_as_a_value_error(text: str) -> None:
    for decode in (
        yaml_codec.CODEC.load,
        yaml_codec.CODEC.load_strings,
        yaml_codec.load_all,
        yaml_codec.load_cloudformation,
    ):
        with pytest.raises(ValueError, match=r"nested too deeply|contains itself|recursive node"):
            decode(text)


def test_yaml_under_the_bound_still_decodes() -> None:
    assert yaml_codec.CODEC.load(ACCEPTED) == json.loads(ACCEPTED)


# ------------------------------------------------------------------ file readers


@deep(FAR, UNDER_THE_DECODER)
def test_a_terraform_plan_names_its_file(tmp_path: Path, text: str) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(text)
    with pytest.raises(errors.InputError, match=rf"^{plan}: not valid JSON .*nested too deeply"):
        terraform.read_plan(plan, {})


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@deep(FAR, UNDER_THE_DECODER, "Resources: &r {R: *r}\n")
def test_a_cloudformation_template_names_its_file(tmp_path: Path, suffix: str, text: str) -> None:
    template = tmp_path / f"t{suffix}"
    template.write_text(text)
    with pytest.raises(errors.InputError, match=r"^t\.\w+: not a CloudFormation template: "):
        cloudformation_template.read_template(template, template.name)


@deep(FAR, UNDER_THE_DECODER, SELF_ALIAS, nested(200))
def test_a_spec_gets_a_positioned_problem(text: str) -> None:
    with pytest.raises(source.SpecError, match=r"^kubetrust\.yaml:\d+:\d+: .*nested too deeply"):
        source.compose(text, "kubetrust.yaml")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
@deep(FAR, UNDER_THE_DECODER)
def test_a_world_file_names_its_file(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"world{suffix}"
    path.write_text(text)
    with pytest.raises(errors.InputError, match=rf"world file `{path}`: .*nested too deeply"):
        world.load_world(path)


@deep(FAR, UNDER_THE_DECODER)
def test_a_state_file_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        SandboxState.from_json(text)


@deep(FAR, '{"step": 1, "a": ' + UNDER_THE_DECODER + "}")
def test_a_deep_journal_line_is_refused_even_last(tmp_path: Path, text: str) -> None:
    """A torn last line is skipped (a kill mid-write); a whole line too deep is not torn."""
    (tmp_path / journal.JOURNAL_FILE).write_text(text + "\n")
    with pytest.raises(journal.JournalError, match=r"journal\.jsonl:1: .*nested too deeply"):
        journal.read_steps(tmp_path)


def test_a_deep_migration_record_is_refused(tmp_path: Path) -> None:
    (tmp_path / journal.MIGRATION_FILE).write_text(FAR)
    with pytest.raises(journal.JournalError, match=r"migration\.json: .*nested too deeply"):
        journal.read_migration(tmp_path)
