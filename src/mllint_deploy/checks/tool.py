"""MLD001: files that cannot be read, decoded or parsed.

The engine produces these findings itself, because a file that does not parse never reaches a
check; this class registers the code so it can be selected, ignored and listed like any other.
"""

from mllint_deploy.registry import FileCheck, register


@register
class SyntaxErrorCheck(FileCheck):
    codes = ("MLD001",)

    def check(self, ctx) -> None:
        """Nothing to do on a file that parsed: the engine reports the ones that did not."""
