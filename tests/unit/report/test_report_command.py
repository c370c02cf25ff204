"""``kubetrust report`` in process: the file written (atomically), the line printed, the exit
codes of audit (0 written, 3 invalid input, 1 not writable), and the header's "inputs" lines
(:func:`kubetrust.cli.inputs.describe_inputs`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kubetrust.cli import inputs
from kubetrust.cli.main import cli
from kubetrust.explain import worlds

SEED_WORLD = Path(__file__).resolve().parents[2] / "cases" / "explain" / "seed_world.yaml"


@pytest.fixture
def seed_bundle(tmp_path: Path) -> Path:
    world = yaml.safe_load(SEED_WORLD.read_text(encoding="utf-8"))
    return worlds.write_bundle(world, tmp_path / "seed")


def data_of(path: Path) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="kt-data">(.*?)</script>',
        path.read_text(encoding="utf-8"),
        re.S,
    )
    assert found is not None
    loaded = json.loads(found.group(1))
    assert isinstance(loaded, dict)
    return loaded


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["report", *args], catch_exceptions=False)


def test_writes_the_report_and_says_what_it_holds(seed_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = run("--bundle", str(seed_bundle), "--out", str(out), "--title", "Seed <review>")
    assert done.exit_code == 0, done.output
    data = data_of(out)
    counts = (len(data["nodes"]), len(data["edges"]), len(data["findings"]))
    assert (
        done.output == f"wrote {out} ({counts[0]} nodes, {counts[1]} edges, {counts[2]} findings)\n"
    )
    assert data["header"]["inputs"] == [f"bundle {seed_bundle}"]
    assert data["header"]["title"] == "Seed <review>"
    text = out.read_text(encoding="utf-8")
    assert "<title>Seed &lt;review&gt;</title>" in text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="kt-graph"' in text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def test_invalid_input_exits_3_and_leaves_the_previous_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("the previous report", encoding="utf-8")
    broken = tmp_path / "broken"
    (broken / "accounts" / "111111111111").mkdir(parents=True)
    (broken / "accounts" / "111111111111" / "authorization-details.json").write_text("{")
    done = CliRunner().invoke(cli, ["report", "--bundle", str(broken), "--out", str(out)])
    assert done.exit_code == 3, done.output
    assert done.output.startswith("error: ") and "authorization-details.json" in done.output
    assert out.read_text(encoding="utf-8") == "the previous report"


def test_no_input_is_a_usage_error(tmp_path: Path) -> None:
    done = CliRunner().invoke(cli, ["report", "--out", str(tmp_path / "r.html")])
    assert done.exit_code == 2 and "give --bundle DIR" in done.output
    assert not (tmp_path / "r.html").exists()


def test_an_unwritable_file_exits_1_saying_where(seed_bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "no-such-directory" / "report.html"
    done = CliRunner().invoke(cli, ["report", "--bundle", str(seed_bundle), "--out", str(out)])
    assert done.exit_code == 1
    assert done.output.startswith(f"error: cannot write {out}: ")
    assert "Traceback" not in done.output


def test_describe_inputs_names_each_input(tmp_path: Path) -> None:
    kw: dict[str, Any] = {
        "bundles": (Path("org"), Path("more")),
        "use_sandbox": False,
        "state_dir": None,
        "profiles": ("ci", "target"),
        "live": True,
        "regions": ("us-east-1", "eu-west-1"),
        "endpoint_url": "http://127.0.0.1:4566",
        "terraform_plans": (Path("plan.json"),),
        "templates": ("stack.yaml:222222222222",),
    }
    where = " (us-east-1, eu-west-1) at http://127.0.0.1:4566"
    assert inputs.describe_inputs(kw) == (
        "bundle org",
        "bundle more",
        f"profile ci{where}",
        f"profile target{where}",
        f"live: the current credentials{where}",
        "terraform plan plan.json",
        "cloudformation template stack.yaml:222222222222",
    )


def test_describe_inputs_of_a_sandbox_that_is_not_running(tmp_path: Path) -> None:
    kw = {"bundles": (), "use_sandbox": True, "state_dir": tmp_path, "profiles": (), "live": False}
    assert inputs.describe_inputs(kw) == ("sandbox",)


def test_a_terraform_plan_reads_known_after_apply_never_a_raw_token(tmp_path: Path) -> None:
    """Values a plan knows only after apply read "known after apply (ADDRESS.ATTR)" in the
    page — in the explanations and in the picture's labels — never as the internal token."""
    plan = Path(__file__).resolve().parents[2] / "cases" / "terraform" / "seed.plan.json"
    out = tmp_path / "plan.html"
    done = run("--terraform-plan", str(plan), "--out", str(out))
    assert done.exit_code == 0, done.output
    text = out.read_text(encoding="utf-8")
    assert "known after apply (aws_eks_cluster.ci.identity[0].oidc[0].issuer)" in text
    assert "KNOWN-AFTER-APPLY-" not in text
    assert data_of(out)["header"]["inputs"] == [f"terraform plan {plan}"]
