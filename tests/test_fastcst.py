"""The fast read-only walk and the lazy positions must be indistinguishable from libcst's own:
the same visitor hooks with the same nodes in the same order, the same `children`, the same ranges."""

from __future__ import annotations

import libcst as cst
import pytest

from conftest import FIXTURES
from mllint_deploy.sources import fastcst
from mllint_deploy.sources.notebook import read_notebook
from mllint_deploy.sources.positions import compute_positions, provider_positions

# syntax the fixtures may not cover: every construct with optional or conditionally visited fields
SYNTAX = '''
from __future__ import annotations
from . import sibling
from ..pkg.mod import (a as b, c,)
from os import *
import numpy as np, pandas
x: int = 1
y: "list[int]"
a = b = c = [i for i in range(3) if i] + list({k: v for k, v in {}.items()}) + [*{1, 2}]
s = f"{x!r:>{y}} {a=} {b:.2f} plain" f'{"nested"}' "implicit" "concat"
raw = rb"raw" b"bytes"
t = (lambda p, /, q=1, *r, k, **kw: p)(1, k=2)
u = x if y else -~+x ** 2 // 3 @ np.eye(2) % 1 << 2 >> 1 & 3 | 4 ^ 5
v = a[1:2, ::3, ...][-1] ; w = not a and b or c
assert x, "message"
del a[0], b.c
global_value = 3


@decorator(arg)
@other.decorator
async def coroutine(p: int = 1, *args: str, key: bool = False, **kwargs) -> dict[str, int]:
    """Docstring."""
    global global_value
    async with lock as held, other():
        async for item in stream():
            await item
    result = yield from generator()
    value = yield
    nonlocal_ok = [y async for y in stream()]
    return {**kwargs}


class Model(Base, metaclass=Meta):
    field: int = 0

    def method(self):
        def inner():
            nonlocal self
        try:
            pass
        except (ValueError, TypeError) as err:
            raise RuntimeError("x") from err
        except Exception:
            raise
        else:
            pass
        finally:
            pass
        while (n := self.next()) is not None:
            if n > 1:
                break
            elif n:
                continue
            else:
                pass
        else:
            pass
        for i, (j, k) in enumerate(pairs):
            print(i, j, k, sep="")
        with open("f") as fh, open("g"):
            pass


match command.split():
    case [action]:
        pass
    case [action, obj] if obj:
        pass
    case Point(x=0, y=0) | {"key": _, **rest}:
        pass
    case [1, *others] as whole:
        pass
    case str() | None | 1.5 | -1 | 1 + 2j:
        pass
    case _:
        pass

try:
    pass
except* ValueError as group:
    pass

type Alias[T: int, *Ts, **P] = dict[T, int]


def generic[T](x: T) -> T:
    return x
'''


class Recorder(cst.CSTVisitor):
    """Every hook, through the generic `on_*` methods."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def on_visit(self, node):
        self.log.append(("visit", id(node)))
        return not isinstance(node, cst.Lambda)  # and one subtree skipped

    def on_leave(self, node):
        self.log.append(("leave", id(node)))

    def on_visit_attribute(self, node, attribute):
        self.log.append(("visit_attr", id(node), attribute))

    def on_leave_attribute(self, node, attribute):
        self.log.append(("leave_attr", id(node), attribute))


class Typed(cst.CSTVisitor):
    """The usual style: a few `visit_X` / `leave_X` methods (the fast path)."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def visit_Call(self, node):
        self.log.append(("call", id(node)))

    def leave_Call(self, node):
        self.log.append(("/call", id(node)))

    def visit_Name(self, node):
        self.log.append(("name", id(node), node.value))

    def visit_ClassDef(self, node):
        self.log.append(("class", id(node)))
        return False

    def leave_Attribute(self, node):
        self.log.append(("/attr", id(node)))


class AttributeHooks(cst.CSTVisitor):
    """Attribute-level hooks defined as methods (`visit_Call_func`)."""

    def __init__(self) -> None:
        self.log: list[tuple] = []

    def visit_Call_func(self, node):
        self.log.append(("call.func", id(node)))

    def leave_FormattedStringExpression_format_spec(self, node):
        self.log.append(("/format_spec", id(node)))


class Everything(cst.CSTVisitor):
    def __init__(self) -> None:
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node):
        self.nodes.append(node)
        return True


def _sources() -> list[tuple[str, str]]:
    """The syntax sample, the notebooks, and every fourth fixture (libcst's own walk is slow)."""
    out = [("syntax", SYNTAX)]
    for path in sorted(FIXTURES.rglob("*.py"))[::4]:
        out.append((path.relative_to(FIXTURES).as_posix(), path.read_text(encoding="utf-8", errors="replace")))
    for path in sorted(FIXTURES.rglob("*.ipynb")):
        try:
            nb = read_notebook(path.read_bytes())
        except Exception:  # a deliberately broken fixture notebook
            nb = None
        if nb is not None:
            out.append((path.relative_to(FIXTURES).as_posix(), nb.text))
    return out


def _parse(text: str):
    try:
        return cst.parse_module(text)
    except Exception:
        return None


def _run(module, visitor_cls):
    visitor = visitor_cls()
    module.visit(visitor)
    return visitor


@pytest.fixture
def libcst_own():
    """Run the body with libcst's own visit/children, then put the fast walk back."""
    fastcst.uninstall()
    yield
    fastcst.install()


def test_the_engine_installs_the_fast_walk():
    import mllint_deploy.pipeline.engine  # noqa: F401

    assert cst.CSTNode.visit is fastcst._visit
    assert cst.Module.visit is fastcst._module_visit


def test_syntax_sample_parses():
    assert _parse(SYNTAX) is not None


def test_hooks_and_children_identical_to_libcst():
    compared = 0
    for name, text in _sources():
        module = _parse(text)
        if module is None:
            continue
        fastcst.uninstall()
        try:
            reference = [_run(module, cls).log for cls in (Recorder, Typed, AttributeHooks)]
            nodes = _run(module, Everything).nodes
            reference_children = [[id(c) for c in node.children] for node in nodes]
        finally:
            fastcst.install()
        fast = [_run(module, cls).log for cls in (Recorder, Typed, AttributeHooks)]
        assert fast == reference, name
        assert [[id(c) for c in node.children] for node in nodes] == reference_children, name
        assert module.visit(Typed()) is module  # a read-only visit returns the tree itself
        compared += 1
    assert compared > 40


def test_transformers_keep_libcst_behaviour():
    class Rename(cst.CSTTransformer):
        def leave_Name(self, original_node, updated_node):
            if updated_node.value == "x":
                return updated_node.with_changes(value="X")
            return updated_node

    module = cst.parse_module("x = 1\nprint(x)\n")
    assert module.visit(Rename()).code == "X = 1\nprint(X)\n"


def test_positions_identical_to_position_provider():
    compared = 0
    for name, text in _sources():
        module = _parse(text)
        if module is None:
            continue
        reference = provider_positions(module)
        lazy = compute_positions(module)
        # asked in reverse order too: the lazy generation must reach any node
        for node in reversed(list(reference._raw)):
            assert lazy[node] == reference[node], name
        assert len(lazy) == len(reference), name
        compared += 1
    assert compared > 40


def test_positions_are_generated_only_as_far_as_asked():
    module = cst.parse_module("a = 1\nb = 2\n" + "c = 3\n" * 1000)
    positions = compute_positions(module)
    first = module.body[0]
    assert positions[first].start.line == 1
    assert len(positions._raw) < 50  # the rest of the module was not generated
    assert positions[module.body[-1]].start.line == 1002
