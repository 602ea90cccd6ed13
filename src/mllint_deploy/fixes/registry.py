"""Which rule has a fix, and the function that computes it.

A file rule's fix is computed from the node the rule reported, on the same parsed module and shared
analyses; MLD202, reported by the project pass, has its fixes computed for every candidate call of
the file, and the suppression chain pairs them with the findings by position.
"""

from __future__ import annotations

from mllint_deploy.fixes.leakage import fix_fit_before_split, fix_fit_on_test, fix_shuffled_time_split
from mllint_deploy.fixes.seeds import estimator_fixes, fix_unseeded_generator, fix_unseeded_split
from mllint_deploy.fixes.serving import fix_train_mode

FILE_FIXERS = {
    "MLD101": fix_fit_before_split,
    "MLD102": fix_fit_on_test,
    "MLD106": fix_shuffled_time_split,
    "MLD201": fix_unseeded_split,
    "MLD204": fix_unseeded_generator,
    "MLD404": fix_train_mode,
}
PROJECT_FIXERS = {"MLD202": estimator_fixes}
FIXABLE = frozenset(FILE_FIXERS) | frozenset(PROJECT_FIXERS)


def file_fix(ctx, code: str, node):
    fixer = FILE_FIXERS.get(code)
    return fixer(ctx, node) if fixer is not None else None


def project_fixes(ctx, enabled) -> dict:
    out: dict = {}
    for code, fixer in PROJECT_FIXERS.items():
        if code in enabled:
            out.update(fixer(ctx))
    return out
