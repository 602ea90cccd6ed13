"""A read-only tree walk for libcst that does not rebuild the tree.

libcst's `CSTNode.visit` always rebuilds every node it passes through (it calls each node's
`_visit_and_replace_children`, which constructs and validates a new node), even for a read-only
`CSTVisitor` whose result is the original tree. `CSTNode.children` is built the same way. On the
scikit-learn benchmark corpus that rebuilding costs several times the parse itself.

This module walks the original nodes in exactly the order libcst visits them and calls the same
visitor hooks (`on_visit`, `on_visit_attribute`, `on_leave_attribute`, `on_leave`), so a
`CSTVisitor` sees the same calls with the same nodes; it only skips the construction of the
copies that a read-only visitor throws away. The order of a node's fields is read once per class
from libcst's own `_visit_and_replace_children` (the `visit_*(self, "field", ...)` calls, in
source order). A class whose order cannot be read keeps libcst's own path.

`install()` routes `CSTNode.visit` for `CSTVisitor`s and `CSTNode.children` through this walk;
transformers and any other visitor keep libcst's implementation. tests/test_fastcst.py checks,
over the fixtures and a sample of real code, that every hook call and every `children` list is
identical to libcst's.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import weakref
from typing import Any

import libcst as cst
from libcst import CSTNode, CSTVisitor, MaybeSentinel
from libcst._nodes.base import BaseLeaf

try:  # the no-op `visit_X` / `leave_X` stubs every CSTVisitor inherits
    from libcst._typed_visitor import CSTTypedVisitorFunctions
except Exception:  # pragma: no cover - layout of another libcst version
    CSTTypedVisitorFunctions = CSTVisitor

_ORIGINAL_VISIT = CSTNode.visit
_ORIGINAL_CHILDREN = CSTNode.children
_VISIT_HELPERS = {
    "visit_required", "visit_optional", "visit_sentinel", "visit_iterable", "visit_sequence",
    "visit_body_iterable", "visit_body_sequence",
}

# node class -> tuple of (field name, attribute hooks only when the value is not None), or None
# when the class must use libcst's own path
_FIELD_ORDER: dict[type, tuple[tuple[str, bool], ...] | None] = {}
_NAMES: dict[type, tuple[str, ...] | bool] = {}  # the same, field names only (False: libcst's path)
# visitor class -> (uses attribute hooks, {node class name: (visit function, leave function)})
_VISITOR_PLAN: "weakref.WeakKeyDictionary[type, Any]" = weakref.WeakKeyDictionary()
_installed = False


def _read_field_order(cls: type) -> tuple[tuple[str, bool], ...] | None:
    """The fields `cls._visit_and_replace_children` visits, in order, read from its source."""
    method = None
    for klass in cls.__mro__:
        if "_visit_and_replace_children" in vars(klass):
            method = vars(klass)["_visit_and_replace_children"]
            break
    if method is None:
        return None
    if method is BaseLeaf.__dict__.get("_visit_and_replace_children"):
        return ()
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(method)))
    except (OSError, TypeError, SyntaxError):
        return None
    calls = []
    guarded: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.IfExp):
            # `visit_sequence(self, "format_spec", ...) if format_spec is not None else None`:
            # libcst calls no attribute hook at all when the value is None
            for sub in ast.walk(node.body):
                if _helper_field(sub) and not _helper_field_in(node.orelse):
                    guarded.add(_helper_field(sub))
        field = _helper_field(node)
        if field:
            calls.append((node.lineno, node.col_offset, field))
    order: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for _, _, field in sorted(calls):
        if field not in seen:
            seen.add(field)
            order.append((field, field in guarded))
    return tuple(order)


def _helper_field(node: ast.AST) -> str | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _VISIT_HELPERS
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)):
        return node.args[1].value
    return None


def _helper_field_in(expr: ast.AST) -> bool:
    return any(_helper_field(sub) for sub in ast.walk(expr))


def field_order(cls: type) -> tuple[tuple[str, bool], ...] | None:
    try:
        return _FIELD_ORDER[cls]
    except KeyError:
        order = _read_field_order(cls)
        _FIELD_ORDER[cls] = order
        return order


def children(node: CSTNode) -> list[CSTNode]:
    """`node.children` without rebuilding the node: its direct child nodes in source order."""
    order = field_order(type(node))
    if order is None:
        return _ORIGINAL_CHILDREN.fget(node)
    out: list[CSTNode] = []
    for name, _ in order:
        value = getattr(node, name)
        kind = value.__class__
        if kind is tuple or kind is list:
            out.extend(value)
        elif value is not None and kind is not MaybeSentinel:
            out.append(value)
    return out


def _visitor_plan(visitor: CSTVisitor):
    """Per visitor class: whether it uses attribute hooks, and its real `visit_X`/`leave_X` methods.

    None when the visitor customises dispatch itself (overrides `on_visit`/`on_leave`, or holds hook
    functions on the instance): then every hook is called through the visitor's own methods."""
    cls = type(visitor)
    try:
        plan = _VISITOR_PLAN[cls]
    except KeyError:
        plan = None
        if cls.on_visit is CSTVisitor.on_visit and cls.on_leave is CSTVisitor.on_leave:
            attribute_hooks = (cls.on_visit_attribute is not CSTVisitor.on_visit_attribute
                               or cls.on_leave_attribute is not CSTVisitor.on_leave_attribute)
            names: dict[str, list] = {}
            seen: set[str] = set()
            for klass in cls.__mro__:
                if klass is CSTVisitor or klass is CSTTypedVisitorFunctions or klass is object:
                    break
                for name, fn in vars(klass).items():
                    if name in seen or not name.startswith(("visit_", "leave_")):
                        continue
                    seen.add(name)
                    if not callable(fn):
                        continue
                    kind, _, rest = name.partition("_")
                    node_name, _, attribute = rest.partition("_")
                    if attribute:
                        attribute_hooks = True
                        continue
                    names.setdefault(node_name, [None, None])[0 if kind == "visit" else 1] = name
            plan = (attribute_hooks, {k: (v[0], v[1]) for k, v in names.items()})
        _VISITOR_PLAN[cls] = plan
    if plan is None:
        return None
    instance_dict = getattr(visitor, "__dict__", None)
    if instance_dict and any(k.startswith(("visit_", "leave_")) for k in instance_dict):
        return None
    return plan


def walk(node: CSTNode, visitor: CSTVisitor) -> None:
    """Visit `node` and its subtree with a read-only visitor, as `node.visit(visitor)` would."""
    plan = _visitor_plan(visitor)
    if plan is None or plan[0]:
        _walk_hooks(node, visitor)
        return
    methods = plan[1]
    bound: dict[type, tuple[Any, Any]] = {}

    def visit(n: CSTNode) -> None:
        cls = type(n)
        hooks = bound.get(cls)
        if hooks is None:
            names = methods.get(cls.__name__)
            hooks = (getattr(visitor, names[0]) if names and names[0] else None,
                     getattr(visitor, names[1]) if names and names[1] else None)
            bound[cls] = hooks
        enter, leave = hooks
        if enter is None or enter(n) is not False:
            names = _NAMES.get(cls)
            if names is None:
                order = field_order(cls)
                names = _NAMES[cls] = tuple(name for name, _ in order) if order is not None else False
            if names is False:
                for child in _ORIGINAL_CHILDREN.fget(n):
                    visit(child)
            else:
                for name in names:
                    # a visited field holds a node, a sequence of nodes, None or MaybeSentinel; type
                    # tests instead of isinstance(value, CSTNode), which goes through ABCMeta
                    value = getattr(n, name)
                    kind = value.__class__
                    if kind is tuple or kind is list:
                        for child in value:
                            visit(child)
                    elif value is not None and kind is not MaybeSentinel:
                        visit(value)
        if leave is not None:
            leave(n)

    visit(node)


def _walk_hooks(node: CSTNode, visitor: CSTVisitor) -> None:
    """The general walk: every hook through the visitor's own `on_*` methods."""
    if visitor.on_visit(node):
        order = field_order(type(node))
        if order is None:
            node._visit_and_replace_children(visitor)
        else:
            for name, guarded in order:
                value = getattr(node, name)
                if guarded and value is None:
                    continue
                visitor.on_visit_attribute(node, name)
                kind = value.__class__
                if kind is tuple or kind is list:
                    for child in value:
                        _walk_hooks(child, visitor)
                elif value is not None and kind is not MaybeSentinel:
                    _walk_hooks(value, visitor)
                visitor.on_leave_attribute(node, name)
    visitor.on_leave(node)


def _visit(self, visitor):
    if isinstance(visitor, CSTVisitor):
        walk(self, visitor)
        return self
    return _ORIGINAL_VISIT(self, visitor)


def _module_visit(self, visitor):
    if isinstance(visitor, CSTVisitor):
        walk(self, visitor)
        return self
    return _ORIGINAL_MODULE_VISIT(self, visitor)


_ORIGINAL_MODULE_VISIT = cst.Module.visit


def install() -> None:
    """Route read-only visits and `children` through the fast walk (idempotent)."""
    global _installed
    if _installed or "MLLINT_DEPLOY_SLOW_CST" in __import__("os").environ:
        return
    _installed = True
    CSTNode.visit = _visit
    cst.Module.visit = _module_visit
    CSTNode.children = property(children)


def uninstall() -> None:
    """Restore libcst's own `visit` and `children` (for the equivalence tests)."""
    global _installed
    CSTNode.visit = _ORIGINAL_VISIT
    cst.Module.visit = _ORIGINAL_MODULE_VISIT
    CSTNode.children = _ORIGINAL_CHILDREN
    _installed = False

