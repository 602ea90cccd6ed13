"""The label files of the real-code sets: which repositories, which files were read, what is wrong in them.

A set file (sets/*.yaml):

    set: leakage-dev            # its name
    part: dev                   # dev (may be tuned on) or holdout (never tuned on)
    codes: [MLD1]               # code prefixes this set scores; other findings are ignored
    recall: true                # issues were labelled by reading every listed file in full
    repos:
      - repo: owner/name
        commit: 40-hex
        files:
          - path: notebooks/titanic.ipynb
            issues:             # what a careful reviewer would flag
              - {code: MLD101, cell: 4, line: 12, why: "StandardScaler fitted on X, split in cell 6"}
            judged:             # findings that are not issues above, each judged
              - {code: MLD102, cell: 7, line: 30, verdict: wrong, why: "X_test is a CV fold"}

A label matches a finding of the same file (and notebook cell) whose line lies in [line, end_line]
(end_line defaults to line) and whose code is `code` or one of `also`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Label:
    code: str
    line: int
    why: str
    end_line: int | None = None
    cell: int | None = None
    also: tuple[str, ...] = ()
    verdict: str = "right"          # for judged findings: right or wrong

    def matches(self, code: str, cell: int | None, line: int) -> bool:
        return (cell == self.cell and self.line <= line <= (self.end_line or self.line)
                and (code == self.code or code in self.also))


@dataclass(frozen=True)
class LabelledFile:
    path: str
    issues: tuple[Label, ...]
    judged: tuple[Label, ...]


@dataclass(frozen=True)
class Repo:
    name: str
    commit: str
    files: tuple[LabelledFile, ...]

    @property
    def folder(self) -> str:
        return self.name.replace("/", "__")


@dataclass(frozen=True)
class LabelSet:
    name: str
    part: str
    codes: tuple[str, ...]
    recall: bool
    repos: tuple[Repo, ...] = field(default=())

    def scores(self, code: str) -> bool:
        return code.startswith(self.codes)


def _label(raw: dict, where: str) -> Label:
    try:
        return Label(code=raw["code"], line=int(raw["line"]), why=str(raw.get("why", "")),
                     end_line=int(raw["end_line"]) if raw.get("end_line") is not None else None,
                     cell=int(raw["cell"]) if raw.get("cell") is not None else None,
                     also=tuple(raw.get("also") or ()), verdict=str(raw.get("verdict", "right")))
    except (KeyError, TypeError, ValueError) as exc:
        raise SystemExit(f"{where}: bad label {raw!r}: {exc}") from None


def load_set(path: Path) -> LabelSet:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    repos = []
    for r in raw.get("repos") or ():
        files = []
        for f in r.get("files") or ():
            where = f"{path}: {r['repo']}: {f['path']}"
            files.append(LabelledFile(
                path=f["path"],
                issues=tuple(_label(x, where) for x in f.get("issues") or ()),
                judged=tuple(_label(x, where) for x in f.get("judged") or ())))
        repos.append(Repo(name=r["repo"], commit=str(r["commit"]), files=tuple(files)))
    return LabelSet(name=raw["set"], part=raw.get("part", "dev"), codes=tuple(raw.get("codes") or ("MLD",)),
                    recall=bool(raw.get("recall", True)), repos=tuple(repos))
