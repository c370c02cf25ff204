"""What explain calls a typo: a couple of edits, not a long shared prefix."""

from __future__ import annotations

from kubetrust.explain.fix_common import closest

SUB = "system:serviceaccount:ci-namespace:"


def test_another_name_with_a_long_shared_prefix_is_not_a_typo() -> None:
    assert closest(f"{SUB}other-serviceaccount", [f"{SUB}ci-serviceaccount"]) is None


def test_swapped_letters_and_a_dropped_letter_are_typos() -> None:
    assert closest(f"{SUB}ci-serviceaccount", [f"{SUB}ci-servcieaccount"]) == (
        f"{SUB}ci-servcieaccount"
    )
    assert closest("ci-account-iam-role", ["x", "ci-acount-iam-role"]) == "ci-acount-iam-role"


def test_the_nearest_wins_and_identical_or_short_words_are_not_typos() -> None:
    assert closest("target-role", ["target-rol", "targt-rol"]) == "target-rol"
    assert closest("dev", ["dev", "prd"]) is None
