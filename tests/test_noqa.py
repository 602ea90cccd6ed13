"""Suppression comments, flake8 style: `# noqa` on the reported line (bare, with codes, with prefixes)
and the file-level `# mllint-deploy: noqa[: CODES]`."""

from __future__ import annotations

import textwrap

import pytest

from mllint_deploy.suppress.noqa import ALL, parse_suppressions

SPLIT = "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)"


def suppressed(comment: str, code: str) -> bool:
    """Whether a finding `code` on a line ending in `comment` is suppressed."""
    sup = parse_suppressions(f"import pandas as pd\n{SPLIT}  {comment}\n")
    return sup.suppresses(2, code)


@pytest.mark.parametrize(
    "comment, code, expected",
    [
        # bare: every code
        ("# noqa", "MLD201", True),
        ("# noqa", "MLD204", True),
        ("# noqa  (legacy notebook export)", "MLD101", True),
        # one code
        ("# noqa: MLD201", "MLD201", True),
        ("# noqa: MLD201", "MLD204", False),
        ("# noqa:MLD201", "MLD201", True),
        # lists: comma, comma and space, spaces
        ("# noqa:MLD201,MLD204", "MLD204", True),
        ("# noqa: MLD201, MLD204", "MLD204", True),
        ("# noqa: MLD201 MLD204", "MLD204", True),
        ("# noqa:MLD201,MLD204", "MLD202", False),
        # prefixes cover every code they start
        ("# noqa: MLD2", "MLD201", True),
        ("# noqa: MLD2", "MLD204", True),
        ("# noqa: MLD2", "MLD101", False),
        ("# noqa: MLD20", "MLD205", True),
        ("# noqa: MLD20", "MLD301", False),
        # another tool's codes only: our findings stay
        ("# noqa: E501", "MLD201", False),
        ("# noqa: E501, F401", "MLD201", False),
        ("# noqa: E501,MLD201", "MLD201", True),
        # case: the keyword and the codes
        ("# NOQA", "MLD201", True),
        ("# NoQA: MLD201", "MLD201", True),
        ("# NoQA: MLD201", "MLD204", False),
        ("# noqa: mld201", "MLD201", True),
        ("# noqa: mld201", "MLD204", False),
        ("#noqa: MLD201", "MLD201", True),
        # prose after the codes is not more codes (the word 'ML' must not cover every MLD code)
        ("# noqa: MLD201 ML demo only, seeded later", "MLD201", True),
        ("# noqa: MLD201 ML demo only, seeded later", "MLD204", False),
        ("# noqa: MLD201 because the split is fixed upstream", "MLD204", False),
        # flake8: more than one space after the colon is not a code list, so the noqa is bare
        ("# noqa:  MLD201", "MLD204", True),
        # a comment that merely mentions suppression
        ("# TODO: add random_state, no noqa here", "MLD201", False),
        ("# not-noqa-ish", "MLD201", False),
    ],
)
def test_line_noqa(comment, code, expected):
    assert suppressed(comment, code) is expected


def test_noqa_applies_to_its_own_line_only():
    text = textwrap.dedent(
        f"""\
        import numpy as np
        {SPLIT}  # noqa: MLD201
        {SPLIT}
        rng = np.random.default_rng()  # noqa
        """
    )
    sup = parse_suppressions(text)
    assert sup.suppresses(2, "MLD201")
    assert not sup.suppresses(3, "MLD201")
    assert sup.suppresses(4, "MLD204")
    assert not sup.suppresses(1, "MLD204")
    assert sup.by_line == {2: frozenset({"MLD201"}), 4: ALL}


def test_mixed_case_noqa_alone_in_a_file_is_seen():
    sup = parse_suppressions(f"{SPLIT}  # NoQA: MLD201\n")
    assert sup.suppresses(1, "MLD201")
    sup = parse_suppressions(f"{SPLIT}  # Noqa\n")
    assert sup.suppresses(1, "MLD204")


def test_file_without_comments_has_no_suppressions():
    sup = parse_suppressions(f"import numpy as np\n{SPLIT}\n")
    assert sup.by_line == {} and sup.whole_file is False
    assert not sup.suppresses(2, "MLD201")


def test_noqa_in_crlf_file():
    sup = parse_suppressions(f"import numpy as np\r\n{SPLIT}  # noqa: MLD201\r\nx = 1\r\n")
    assert sup.suppresses(2, "MLD201") and not sup.suppresses(3, "MLD201")


# --- file level -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, code, expected",
    [
        ("# mllint-deploy: noqa", "MLD201", True),
        ("# mllint-deploy: noqa", "MLD405", True),
        ("# mllint-deploy: noqa: MLD201", "MLD201", True),
        ("# mllint-deploy: noqa: MLD201", "MLD204", False),
        ("# mllint-deploy: noqa:MLD201,MLD204", "MLD204", True),
        ("# mllint-deploy: noqa: MLD201, MLD204", "MLD204", True),
        ("# mllint-deploy: noqa: MLD2", "MLD204", True),
        ("# mllint-deploy: noqa: MLD2", "MLD101", False),
        ("# MLLINT-DEPLOY: NOQA", "MLD201", True),
        ("# mllint-deploy: NoQA: mld204", "MLD204", True),
        ("#mllint-deploy:noqa", "MLD201", True),
        ("    # mllint-deploy: noqa", "MLD201", True),
        # not file-level: flake8's own spelling, or a different tool
        ("# flake8: noqa", "MLD201", False),
        ("# ruff: noqa: MLD201", "MLD201", False),
    ],
)
def test_file_level(header, code, expected):
    text = f"{header}\nimport pandas as pd\n\n\n{SPLIT}\n"
    sup = parse_suppressions(text)
    assert sup.suppresses(5, code) is expected
    assert sup.suppresses(1, code) is expected


def test_file_level_comment_after_code_on_a_line_is_not_file_level():
    text = f"import pandas as pd\nx = 1  # mllint-deploy: noqa\n{SPLIT}\n"
    sup = parse_suppressions(text)
    assert sup.whole_file is False
    assert not sup.suppresses(3, "MLD201")


def test_file_level_anywhere_and_merged():
    text = textwrap.dedent(
        f"""\
        \"\"\"Legacy experiment kept for reference.\"\"\"
        # mllint-deploy: noqa: MLD201
        import numpy as np

        {SPLIT}
        # mllint-deploy: noqa: MLD204
        rng = np.random.default_rng()
        """
    )
    sup = parse_suppressions(text)
    assert sup.whole_file == frozenset({"MLD201", "MLD204"})
    assert sup.suppresses(5, "MLD201") and sup.suppresses(7, "MLD204")
    assert not sup.suppresses(5, "MLD202")


@pytest.mark.parametrize("order", ["bare-first", "codes-first"])
def test_bare_file_level_wins_over_code_lists(order):
    lines = ["# mllint-deploy: noqa", "# mllint-deploy: noqa: MLD201"]
    if order == "codes-first":
        lines.reverse()
    sup = parse_suppressions("\n".join(lines) + f"\n{SPLIT}\n")
    assert sup.whole_file is ALL
    assert sup.suppresses(3, "MLD101") and sup.suppresses(3, "MLD201")
