"""Fetch the real-code sets' repositories at their pinned commits and extract their sources.

    python benchmarks/realcode/prepare.py sets/leakage-dev.yaml [more sets] --corpus ~/mld-corpus
    python benchmarks/realcode/prepare.py sets/*.yaml --corpus DIR --git-dir '/mirrors/{owner}+{name}/repo'

Each repository lands in CORPUS/<owner>__<name>/ with its .py and .ipynb files only (the linted code),
taken from the commit the set pins. By default the repository is cloned from GitHub (`git clone
--filter=blob:none`, then the pinned commit); `--git-dir` names an existing git directory per repository
instead (a template with {owner} and {name}). Nothing here is committed: the third-party code stays out of
this repository.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from labels import load_set  # noqa: E402

LINTED = (".py", ".ipynb")


def git(*args: str, cwd: Path | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True).stdout


def extract(git_dir: Path, commit: str, dest: Path) -> int:
    """Write the linted files of `commit` under `dest`, file by file (archives stop at missing blobs)."""
    listing = git(f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit).split(b"\0")
    count = 0
    for row in listing:
        if not row:
            continue
        meta, _, path = row.partition(b"\t")
        mode, kind, blob = meta.split()
        name = path.decode("utf-8", "surrogateescape")
        if kind != b"blob" or not name.endswith(LINTED) or mode == b"120000":
            continue
        try:
            data = git(f"--git-dir={git_dir}", "cat-file", "blob", blob.decode())
        except subprocess.CalledProcessError:
            print(f"  missing blob: {name}", file=sys.stderr)
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", type=Path)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--git-dir", help="template of an existing git directory per repository")
    args = parser.parse_args()
    failed = []
    for set_path in args.sets:
        for repo in load_set(set_path).repos:
            dest = args.corpus / repo.folder
            if dest.exists():
                continue
            owner, name = repo.name.split("/")
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    if args.git_dir:
                        git_dir = Path(args.git_dir.format(owner=owner, name=name))
                        if (git_dir / ".git").is_dir():  # a clone with a work tree, not a bare repository
                            git_dir = git_dir / ".git"
                    else:
                        git("clone", "--bare", "--filter=blob:none", "--quiet",
                            f"https://github.com/{repo.name}.git", tmp)
                        git_dir = Path(tmp)
                    n = extract(git_dir, repo.commit, dest)
                except subprocess.CalledProcessError as err:
                    failed.append(repo.name)
                    shutil.rmtree(dest, ignore_errors=True)
                    print(f"{repo.name}@{repo.commit[:10]}: not extracted ({err.stderr.decode().strip() or err})",
                          file=sys.stderr)
                    continue
            print(f"{repo.name}@{repo.commit[:10]}: {n} files")
    if failed:
        print(f"{len(failed)} repositories not extracted: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
