"""``kubetrust iam ...``: the policy engine from the command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from kubetrust import errors
from kubetrust.cli import output
from kubetrust.policy import cases


@click.group()
def iam() -> None:
    """IAM policy evaluation with AWS's full logic (no AWS account needed).

    \b
    Example:
      echo '{"id": "1", "request": {...}, "identityPolicies": [...]}' \\
        | kubetrust iam simulate --cases -
    """


@iam.command()
@click.option(
    "--cases",
    "cases_file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="JSON Lines file of cases, one per line (`-` for standard input).",
)
@click.option(
    "--out",
    "output_file",
    type=click.File("w", encoding="utf-8", atomic=True),
    default="-",
    show_default="standard output",
    help="Where to write the JSON Lines results.",
)
@click.option(
    "--explain",
    is_flag=True,
    help="Also print each decision and its reasons readably (to standard error when the "
    "results go to standard output).",
)
def simulate(cases_file: IO[str], output_file: IO[str], explain: bool) -> None:
    """Decide a batch of requests: one JSON case per line in, one JSON result out.

    \b
    A case: {"id", "request": {"principal", "action", "resource",
             "resourceAccount", "context"}, "identityPolicies": [...],
             "permissionsBoundaries": [...], "sessionPolicies": [...],
             "resourcePolicy": {...} | null,
             "serviceControlPolicies": [[level docs], ...],
             "resourceControlPolicies": [[level docs], ...]}
    A result: {"id", "decision": "Allow" | "ExplicitDeny" | "ImplicitDeny",
               "reasons": [...]} or {"id", "error": "..."}.

    Exit 0 when every case was decided, 3 when at least one case was malformed.

    \b
    Example:
      kubetrust iam simulate --cases cases.jsonl --out results.jsonl --explain
    """
    explain_to = sys.stdout if output_file is not sys.stdout else sys.stderr
    malformed = 0
    for number, case in _read_cases(cases_file):
        result = cases.simulate_case(case) if number > 0 else case
        if "error" in result:
            malformed += 1
            if number > 0:
                result["error"] = f"line {number}: {result['error']}"
        output_file.write(json.dumps(result, ensure_ascii=False) + "\n")
        if explain:
            explain_to.write(output.explain_result(result) + "\n")
    output_file.flush()
    if malformed:
        raise SystemExit(output.ExitCode.INVALID)


def _read_cases(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, case)``; an unreadable line yields ``(0, error result)``."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield number, errors.decode_json(line)
        except ValueError as exc:  # nesting too: errors.NestingError
            text = str(exc)[:160]
            yield 0, {"id": None, "error": f"line {number}: not valid JSON: {text}"}
