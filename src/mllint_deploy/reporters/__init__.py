"""Output formats: each module turns the sorted findings into one string."""

from __future__ import annotations

from mllint_deploy.reporters import github, gitlab, json_format, junit, sarif, text

FORMATS = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
    "gitlab": gitlab.render,
    "junit": junit.render,
}
