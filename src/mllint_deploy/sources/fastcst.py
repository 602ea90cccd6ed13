"""A read-only tree walk for libcst that does not rebuild the tree.

libcst's `CSTNode.visit` always rebuilds every node it passes through (it calls each node's
`_visit_and_replace_children`, which constructs and validates a new node), even for a read-only
`CSTVisitor` whose result is the original tree. `CSTNode.children` is built the same way. On the
scikit-learn benchmark corpus that rebuilding cost more than the parse itself.

This module walks the original nodes in exactly the order libcst visits them and calls the same
`visit_X` / `leave_X` methods, so a `CSTVisitor` sees the same calls with the same nodes; it only
skips building the copies that a read-only visitor throws away.

The order of a node class's fields is learnt from libcst itself, once per class: the first node of
that class is asked to `_visit_and_replace_children` with a recording visitor, which notes each
field libcst visits (`on_visit_attribute`). A field libcst skips when it is None (an f-string's
`format_spec`) is noted as such, and a node where such a field is set takes libcst's own path.

`install()` routes `CSTNode.visit` and `CSTNode.children` through this walk. Transformers, and
visitors that customise dispatch (`on_visit`, `on_leave`, attribute hooks such as
`visit_Call_func`), keep libcst's implementation. tests/test_fastcst.py checks, over the fixtures
and a syntax sample, that every hook call and every `children` list is identical to libcst's.
"""

from __future__ import annotations

import os
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
_ORIGINAL_MODULE_VISIT = cst.Module.visit
_ORIGINAL_CHILDREN = CSTNode.children

# node class -> (visited field names in libcst's order, fields libcst skips when they are None),
# or None when libcst's own path must be used for that class
_ORDER: dict[type, tuple[tuple[str, ...], tuple[str, ...]] | None] = {}
# visitor class -> {node class name: (visit method name, leave method name)}, or None for visitors
# that need libcst's own path
_VISITOR_PLAN: "weakref.WeakKeyDictionary[type, Any]" = weakref.WeakKeyDictionary()
_installed = False


class _FieldRecorder(CSTVisitor):
    """Notes the fields libcst visits on one node, without descending into them."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: CSTNode) -> bool:
        return False

    def on_leave(self, original_node: CSTNode) -> None:
        return None

    def on_visit_attribute(self, node: CSTNode, attribute: str) -> None:
        self.fields.append(attribute)


def _learn_order(node: CSTNode):
    cls = type(node)
    if isinstance(node, BaseLeaf):  # a leaf has no children, whatever its fields hold
        _ORDER[cls] = ((), ())
        return _ORDER[cls]
    recorder = _FieldRecorder()
    try:
        node._visit_and_replace_children(recorder)
    except Exception:  # cannot learn this class: libcst's own path for it
        _ORDER[cls] = None
        return None
    names = tuple(dict.fromkeys(recorder.fields))
    # fields that hold None here and that libcst did not visit: they may be visited when set
    skipped = tuple(
        name for name in getattr(cls, "__dataclass_fields__", {})
        if name not in names and getattr(node, name, 0) is None
    )
    order = (names, skipped)
    _ORDER[cls] = order
    return order


def _order_of(node: CSTNode):
    """The field names to walk for this node, or None for libcst's own path."""
    cls = type(node)
    order = _ORDER[cls] if cls in _ORDER else _learn_order(node)
    if order is None:
        return None
    names, skipped = order
    for name in skipped:
        value = getattr(node, name)
        if value is None:
            continue
        if isinstance(value, str):  # a text field (`Newline.value`, `Index.star`), never a child
            _ORDER[cls] = (names, tuple(n for n in skipped if n != name))
            continue
        return None  # a node here: libcst visits it in a place we did not see
    return names


def children(node: CSTNode) -> list[CSTNode]:
    """`node.children` without rebuilding the node: its direct child nodes in source order."""
    names = _order_of(node)
    if names is None:
        return _ORIGINAL_CHILDREN.fget(node)
    out: list[CSTNode] = []
    for name in names:
        value = getattr(node, name)
        kind = value.__class__
        if kind is tuple or kind is list:
            out.extend(value)
        elif value is not None and kind is not MaybeSentinel:
            out.append(value)
    return out


def _visitor_plan(visitor: CSTVisitor):
    """Per visitor class: its real `visit_X` / `leave_X` method names by node class name.

    None when the visitor customises dispatch (overrides `on_visit`, `on_leave` or an attribute
    hook, defines `visit_X_attr` methods, or holds hook functions on the instance)."""
    cls = type(visitor)
    try:
        plan = _VISITOR_PLAN[cls]
    except KeyError:
        plan = None
        if (cls.on_visit is CSTVisitor.on_visit and cls.on_leave is CSTVisitor.on_leave
                and cls.on_visit_attribute is CSTVisitor.on_visit_attribute
                and cls.on_leave_attribute is CSTVisitor.on_leave_attribute):
            names: dict[str, list] = {}
            seen: set[str] = set()
            attribute_hooks = False
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
            if not attribute_hooks:
                plan = {k: (v[0], v[1]) for k, v in names.items()}
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
    if plan is None:
        _ORIGINAL_VISIT(node, visitor)
        return
    bound: dict[type, tuple[Any, Any]] = {}

    def visit(n: CSTNode) -> None:
        cls = type(n)
        hooks = bound.get(cls)
        if hooks is None:
            names = plan.get(cls.__name__)
            hooks = (getattr(visitor, names[0]) if names and names[0] else None,
                     getattr(visitor, names[1]) if names and names[1] else None)
            bound[cls] = hooks
        enter, leave = hooks
        if enter is None or enter(n) is not False:
            order = _ORDER.get(cls, False)
            if order and not order[1]:
                names = order[0]
            else:
                names = _order_of(n)
            if names is None:
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


def _visit(self, visitor):
    if isinstance(visitor, CSTVisitor):
        walk(self, visitor)
        return self
    return _ORIGINAL_VISIT(self, visitor)


def _module_visit(self, visitor):
    if isinstance(visitor, CSTVisitor) and _visitor_plan(visitor) is not None:
        walk(self, visitor)
        return self
    return _ORIGINAL_MODULE_VISIT(self, visitor)


def install() -> None:
    """Route read-only visits and `children` through the fast walk (idempotent).

    MLLINT_DEPLOY_SLOW_CST=1 in the environment keeps libcst's own implementation (for comparison)."""
    global _installed
    if _installed or os.environ.get("MLLINT_DEPLOY_SLOW_CST"):
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
