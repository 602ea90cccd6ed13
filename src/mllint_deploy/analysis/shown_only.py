"""Whether a random draw is only ever displayed: the value of the call, and the names bound from it, reach
nothing but prints, plots, titles and notebook cell outputs (`img = random.choice(files); plt.imshow(img)`).

Such a draw changes a picture, not a result, so the reproducibility rules leave it alone. Predictions made from
the value are followed like any other value. Anything else that reads it counts as a real use: a fit, a
training step, a split, a score or a metric computed from it, a helper that trains, a return, an attribute or item it is stored in, a condition, a function defined after it that reads the name,
a bare call that may act on it in place. Names bound from the value are followed within the draw's scope,
until a step outside the draw's loop rebinds them from something else.
"""

from __future__ import annotations

import libcst as cst

from mllint_deploy.analysis.calls import keyword
from mllint_deploy.analysis.values import name_words
from mllint_deploy.knowledge import knowledge
from mllint_deploy.sources.notebook import SUFFIX as NOTEBOOK_SUFFIX

# concept roles whose calls consume data for training, splitting or evaluation
_ML_ROLES = frozenset({
    "transformer", "estimator", "selector", "resampler", "splitter", "search", "cross_validation",
    "fitting_function", "pipeline", "split", "vectorizer", "train_function", "resampling_function",
    "data_loader", "persister", "label_encoder"})
# methods that learn from, train on, score or save what they are given; a prediction made from a draw is
# followed like any other value (shown only, it only changes what is shown)
_ML_METHOD_GROUPS = ("fit", "train", "persist")
_SCORE_METHODS = frozenset({"score"})
_SHOW_FUNCTIONS = frozenset({"print", "display"})


class _Unit:
    """One step of a scope in source order: a small statement, a loop or `with` header, a test, a nested def."""

    __slots__ = ("kind", "loop", "node", "parts", "targets", "conditional")

    def __init__(self, node, parts, targets=(), kind="stmt", loop=None, conditional=False):
        self.node = node
        self.parts = parts  # the expressions this step evaluates
        self.targets = targets  # the targets it binds from them
        self.kind = kind
        self.loop = loop  # the outermost loop it runs in
        self.conditional = conditional  # in a branch, a handler or a loop body: it may not run


def _units(body, loop=None, out=None, cond=False) -> list[_Unit]:
    out = [] if out is None else out
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                out.append(_small(small, loop, cond))
        elif isinstance(stmt, (cst.For, cst.While)):
            inner = loop or stmt
            if isinstance(stmt, cst.For):
                out.append(_Unit(stmt, [stmt.iter], [stmt.target], "for", inner, cond))
            else:
                out.append(_Unit(stmt, [stmt.test], (), "test", inner, cond))
            _units(_block(stmt.body), inner, out, True)
            if stmt.orelse is not None:
                _units(_block(stmt.orelse.body), loop, out, True)
        elif isinstance(stmt, cst.If):
            out.append(_Unit(stmt, [stmt.test], (), "test", loop, cond))
            _units(_block(stmt.body), loop, out, True)
            if stmt.orelse is not None:
                _units([stmt.orelse] if isinstance(stmt.orelse, cst.If) else _block(stmt.orelse.body), loop, out,
                       True)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                out.append(_Unit(item, [item.item], [item.asname.name] if item.asname else [], "bind", loop, cond))
            _units(_block(stmt.body), loop, out, cond)
        elif isinstance(stmt, cst.Try):
            _units(_block(stmt.body), loop, out, True)
            for handler in stmt.handlers:
                _units(_block(handler.body), loop, out, True)
            for extra in (stmt.orelse, stmt.finalbody):
                if extra is not None:
                    _units(_block(extra.body), loop, out, True)
        else:  # nested def or class, match, ...: whatever it reads is a use we do not follow
            out.append(_Unit(stmt, [stmt], (), "opaque", loop, cond))
    return out


def _block(suite) -> list:
    return list(suite.body) if isinstance(suite, cst.IndentedBlock) else [cst.SimpleStatementLine(suite.body)]


def _small(small, loop, cond=False) -> _Unit:
    if isinstance(small, cst.Assign):
        return _Unit(small, [small.value], [t.target for t in small.targets], "bind", loop, cond)
    if isinstance(small, (cst.AnnAssign, cst.AugAssign)) and small.value is not None:
        return _Unit(small, [small.value], [small.target], "bind", loop, cond)
    if isinstance(small, cst.Expr):
        return _Unit(small, [small.value], (), "expr", loop, cond)
    return _Unit(small, [small], (), "opaque", loop, cond)


class _Reads(cst.CSTVisitor):
    """The plain names an expression reads (not attribute names or keyword names), and whether it holds
    a given call."""

    def __init__(self, idx, call=None):
        self.idx = idx
        self.names: set[str] = set()
        self.call = call
        self.holds_call = False
        self._bound: list[set[str]] = []  # names local to the functions being walked

    def visit_Name(self, node: cst.Name) -> None:
        if not any(node.value in b for b in self._bound):
            self.names.add(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        inner = self.idx.scopes.get(node)
        self._bound.append(inner.bound if inner is not None else set())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._bound.pop()

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)
        return False

    def visit_Call(self, node: cst.Call) -> None:
        if node is self.call:
            self.holds_call = True


def _reads(unit: _Unit, idx, call=None) -> set[str] | bool:
    """The names a step reads (with `call`: whether the step evaluates that call). A store into an item or
    attribute reads its target (`a[y:y + s] = 0`); a nested function reads only its free names."""
    reads = _Reads(idx, call)
    for part in unit.parts:
        part.visit(reads)
    for target in unit.targets:
        _visit_target(target, reads)
    return reads.holds_call if call is not None else reads.names


def _visit_target(target, reads: _Reads) -> None:
    if isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            _visit_target(el.value, reads)
    elif isinstance(target, cst.StarredElement):
        _visit_target(target.value, reads)
    elif not isinstance(target, cst.Name):
        target.visit(reads)


def _bind(target, tainted: set[str]) -> bool:
    """Taint what a target binds from the drawn value; False when the value escapes into an attribute or
    item of something else (`self.idx = ...`, `a[y:y + s] = 0`). A store into the drawn value itself
    (`sample["q1"] = ...`) keeps it drawn."""
    if isinstance(target, cst.Name):
        tainted.add(target.value)
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_bind(el.value, tainted) for el in target.elements)
    if isinstance(target, cst.StarredElement):
        return _bind(target.value, tainted)
    base = target
    while isinstance(base, (cst.Attribute, cst.Subscript)):
        base = base.value
    return isinstance(base, cst.Name) and base.value in tainted


class _Judge:
    """Tells display steps and data-consuming calls apart in one module."""

    def __init__(self, idx, scope):
        k = knowledge()
        self.idx, self.scope, self.k = idx, scope, k
        self.display_methods = k.method_names("display") | k.method_names("preview")
        self.ml_methods = frozenset().union(_SCORE_METHODS, *(k.method_names(g) for g in _ML_METHOD_GROUPS))
        self.part_words = frozenset().union(*(k.words.get(w, ()) for w in ("train", "test", "validation")))
        self._trains: dict[str, bool] = {}
        self._train_ops: set[str] | None = None
        self.train_methods = k.method_names("train")
        self.made = None  # the call whose value is followed

    def shows(self, expr) -> bool:
        """A bare expression statement that only shows a value: a print, a plot, a notebook cell output."""
        if isinstance(expr, (cst.Yield, cst.Await)) or self.consumes(expr):
            return False  # `print(model.score(X[idx], y[idx]))` shows a score computed from the draw
        if not isinstance(expr, cst.Call):
            return True  # a cell's last expression: `img[..., ::-1]`, `df.iloc[idx]`
        func = expr.func
        if isinstance(func, cst.Name) and func.value in _SHOW_FUNCTIONS:
            return True
        name = self.idx.call_name(expr, self.scope)
        if name and self._within(name, "display"):
            return True
        if name and self._within(name, "pure_compute") and not self._within(name, "pure_compute_exceptions") \
                and keyword(expr, "out") is None:
            return True  # `np.argmax(pred[:10], axis=1)` as a cell's last line
        return isinstance(func, cst.Attribute) and func.attr.value in self.display_methods

    def _within(self, name: str, packages: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self.k.packages.get(packages, ()))

    def consumes(self, expr) -> bool:
        """Whether an expression hands data to training, splitting, evaluation or a helper that trains."""
        for call in _calls(expr):
            if call is self.made:
                continue  # the estimator or generator being followed is not a use of itself
            func = call.func
            attr = func.attr.value if isinstance(func, cst.Attribute) else None
            if attr is not None and self.k.method(attr) in self.ml_methods:
                return True
            if attr == "run" and keyword(call, "feed_dict") is not None and self._runs_training(call):
                return True  # `sess.run([train_op, loss], feed_dict={x: batch})`: a TF1 training step
            name = self.idx.call_name(call, self.scope)
            if name:
                concept = self.k.concept(name)
                if concept is not None and concept.roles & _ML_ROLES:
                    return True
                if any(name.startswith(p) for p in self.k.prefixes.get("metrics", ())):
                    return True
            elif isinstance(func, cst.Name) and self._local_trains(func.value):
                return True
        return False

    def _runs_training(self, call: cst.Call) -> bool:
        """Whether a session run fetches an op a train method built (`train_op = opt.minimize(loss)`)."""
        if self._train_ops is None:
            self._train_ops = set()
            for values in _assignments(self.idx):
                name, value = values
                if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) \
                        and self.k.method(value.func.attr.value) in self.train_methods:
                    self._train_ops.add(name)
        fetches = call.args[0].value if call.args and call.args[0].keyword is None else None
        if fetches is None:
            return False
        reads = _Reads(self.idx)
        fetches.visit(reads)
        return bool(reads.names & self._train_ops)

    def names_a_part(self, name: str) -> bool:
        """`X_train`, `test_idx`, `val_rows`: a name for one part of a split."""
        return bool(name_words(name) & self.part_words)

    def _local_trains(self, name: str) -> bool:
        """A function of this module that trains, fits, scores or splits, with a library or by hand
        (`w -= lr * grad` in a loop)."""
        if name not in self._trains:
            self._trains[name] = False
            for fn, _ in self.idx.functions:
                if fn.name.value == name and isinstance(fn.body, cst.IndentedBlock) and (
                        self.consumes(fn.body) or _carries_state(_units(fn.body.body), self.idx)):
                    self._trains[name] = True
        return self._trains[name]


def _assignments(idx) -> list[tuple[str, cst.BaseExpression]]:
    """(name, value) for every plain name any scope of the module assigns."""
    out = []
    scopes = [idx.module_scope] + [s for s in idx.scopes.values() if s is not idx.module_scope]
    for scope in scopes:
        for name, values in scope.assigned.items():
            out += [(name, v) for v in values]
    return out


def _calls(node) -> list[cst.Call]:
    found: list[cst.Call] = []

    class _Collect(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    node.visit(_Collect())
    return found


def only_displayed(call: cst.Call, idx, scope, importable: bool = True) -> bool:
    """Whether the value of `call`, made in `scope`, reaches nothing but displays, or nothing at all (see the
    module docstring): a draw, a sample, an estimator or a generator that no result can depend on. With
    `importable`, a module-level value the file itself never reads is its export (`from train import rng`),
    so it is not judged unused."""
    node = scope.node
    if isinstance(node, cst.Module):
        body = node.body
    elif isinstance(node, cst.FunctionDef) and isinstance(node.body, cst.IndentedBlock):
        body = node.body.body
    else:
        return False
    units = _units(body)
    at = next((i for i, u in enumerate(units) if _reads(u, idx, call)), None)
    if at is None:
        return False
    judge = _Judge(idx, scope)
    judge.made = call
    tainted: set[str] = set()
    if not _step(units[at], judge, tainted, drawn=True, loop=units[at].loop):
        return False
    loop = units[at].loop
    start = next(i for i, u in enumerate(units) if u.loop is loop) if loop is not None else at
    rest = [u for i, u in enumerate(units) if i >= start and i != at]
    read = False
    changed, passes = True, 0
    while changed and passes < 4:  # a loop's later steps feed its earlier ones on the next turn
        changed, passes = False, passes + 1
        for unit in rest:
            if not (_reads(unit, idx) & tainted):
                if (unit.kind == "for" or unit.kind == "bind" and not unit.conditional) \
                        and (unit.loop is None or unit.loop is not loop) and not isinstance(unit.node, cst.AugAssign):
                    tainted -= _plain_targets(unit)  # `for _, row in other.iterrows()`: the name is rebound
                continue
            read = True
            before = len(tainted)
            if not _step(unit, judge, tainted, loop=units[at].loop):
                return False
            changed |= len(tainted) != before
    return read or not (importable and tainted and isinstance(node, cst.Module))


def _plain_targets(unit: _Unit) -> set[str]:
    """The plain names a step rebinds (`row`, `a, b`), not stores into items or attributes."""
    out: set[str] = set()
    todo = list(unit.targets)
    while todo:
        t = todo.pop()
        if isinstance(t, cst.Name):
            out.add(t.value)
        elif isinstance(t, (cst.Tuple, cst.List)):
            todo += [el.value for el in t.elements]
        elif isinstance(t, cst.StarredElement):
            todo.append(t.value)
    return out


def _step(unit: _Unit, judge: _Judge, tainted: set[str], drawn: bool = False, loop=None) -> bool:
    """Judge one step that reads the drawn value: False for a real use, else True (binding what it taints).
    A value updated from itself in a loop (`W -= lr * grad`) is state being trained, by hand."""
    if unit.kind == "expr":
        value = unit.parts[0]
        if drawn and isinstance(value, cst.Call) and not judge.shows(value):
            return False  # `random.shuffle(rows)`: a bare draw acts in place
        return judge.shows(value)
    if unit.kind in ("bind", "for"):
        if any(judge.consumes(p) for p in unit.parts):
            return False
        if unit.loop is not None and _updates_itself(unit, judge.idx) and (
                isinstance(unit.node, cst.AugAssign) or unit.loop is not loop):
            return False
        before = set(tainted)
        if not all(_bind(target, tainted) for target in unit.targets):
            return False
        # `X_train = X_all[idx[:cut]]`: drawn indices pick the rows of a split part
        return not (any(judge.names_a_part(n) for n in tainted - before)
                    and any(_indexes_with(p, before, judge.idx) for p in unit.parts))
    return False


def _indexes_with(expr, tainted: set[str], idx) -> bool:
    """Whether `expr` takes items of an undrawn value at drawn positions (`X_all[idx[:cut]]`)."""
    for sub in _subscripts(expr):
        base, index = _Reads(idx), _Reads(idx)
        sub.value.visit(base)
        for el in sub.slice:
            el.visit(index)
        if index.names & tainted and not base.names & tainted:
            return True
    return False


def _subscripts(node) -> list[cst.Subscript]:
    found: list[cst.Subscript] = []

    class _Collect(cst.CSTVisitor):
        def visit_Subscript(self, sub: cst.Subscript) -> None:
            found.append(sub)

    node.visit(_Collect())
    return found


def _carries_state(units: list[_Unit], idx) -> bool:
    """Whether a loop updates a value from what an earlier step of the same loop read: `w -= lr * grad`,
    `nearest = dist(points, centroids); centroids[j] = ...` (hand-written training)."""
    read_in: dict[int, set[str]] = {}
    bound_in: dict[int, set[str]] = {}
    for unit in units:
        if unit.loop is None:
            continue
        seen = read_in.setdefault(id(unit.loop), set())
        bound = bound_in.setdefault(id(unit.loop), set())
        if not _accumulates(unit, idx, bound) and (_bound_bases(unit) & seen or _updates_itself(unit, idx)):
            return True
        seen |= _reads(unit, idx)
        if unit.kind == "bind":
            bound |= _bound_bases(unit)
    return False


def _accumulates(unit: _Unit, idx, bound: set[str]) -> bool:
    """`total += v`, `count += 1`: a sum or a counter over the loop's items, which reads neither itself nor a
    value an earlier step of the loop computed (`w -= lr * grad` does)."""
    if not isinstance(unit.node, cst.AugAssign):
        return False
    reads = _Reads(idx)
    unit.parts[0].visit(reads)
    return not reads.names & (bound | _bound_bases(unit))


def _bound_bases(unit: _Unit) -> set[str]:
    """The names a binding step rebinds or stores into (`centroids[j] = ...` -> {centroids})."""
    out: set[str] = set()
    todo = list(unit.targets) if unit.kind == "bind" else []
    while todo:
        t = todo.pop()
        if isinstance(t, (cst.Tuple, cst.List)):
            todo += [el.value for el in t.elements]
        elif isinstance(t, cst.StarredElement):
            todo.append(t.value)
        else:
            while isinstance(t, (cst.Attribute, cst.Subscript)):
                t = t.value
            if isinstance(t, cst.Name):
                out.add(t.value)
    return out


def _updates_itself(unit: _Unit, idx) -> bool:
    """`W -= step`, `w = w - lr * g`: the step rebinds a name from its own value."""
    if isinstance(unit.node, cst.AugAssign):
        return True
    if not isinstance(unit.node, cst.Assign):
        return False
    reads = _Reads(idx)
    unit.parts[0].visit(reads)
    return any(isinstance(t, cst.Name) and t.value in reads.names for t in unit.targets)


def learns_nothing(ctx, draws: set[int]) -> bool:
    """A notebook or script in which nothing learns, trains, splits, scores, saves or writes drawn data out (a
    numpy tutorial, a plot, a profiling or tracing demo): its draws change what is shown, never a result. A
    module others may import is not judged by itself. `draws` holds the ids of the calls that draw; a download
    written to disk is not drawn data, a synthetic dataset written out is a result."""
    if importable(ctx):
        return False
    idx = ctx.index
    writes = knowledge().method_names("write_data")
    judges: dict[int, _Judge] = {}
    bodies = [ctx.module.body] + [fn.body.body for fn, _ in idx.functions if isinstance(fn.body, cst.IndentedBlock)]
    drawn: set[str] | None = None
    for call, scope in idx.calls:
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in writes:
            if drawn is None:
                drawn = set().union(*(_drawn_names(_units(body), idx, draws) for body in bodies))
            reads = _Reads(idx)
            call.visit(reads)
            if reads.names & drawn or any(id(c) in draws for c in _calls(call)):
                return False
        judge = judges.setdefault(id(scope), _Judge(idx, scope))
        if judge.consumes(call):
            return False
    return not any(_carries_state(_units(body), idx) for body in bodies)


def _drawn_names(units: list[_Unit], idx, draws: set[int]) -> set[str]:
    """The names a scope binds from a draw, directly or through other names bound from one."""
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for unit in units:
            if unit.kind not in ("bind", "for"):
                continue
            reads = _Reads(idx)
            for part in unit.parts:
                part.visit(reads)
            if not (reads.names & names or any(id(c) in draws for p in unit.parts for c in _calls(p))):
                continue
            before = len(names)
            for target in unit.targets:
                _bind(target, names)
            changed |= len(names) != before
    return names


def importable(ctx) -> bool:
    """Whether other modules may import the file's module-level names: a module that only defines things
    (imports, constants, functions, classes, a `__main__` block). A notebook, or a script whose top level
    does work (`print(...)`, `model.fit(...)` as statements), is run, not imported from."""
    if ctx.path.endswith(NOTEBOOK_SUFFIX):
        return False
    for stmt in ctx.module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and any(
                isinstance(small, cst.Expr) and not isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString))
                for small in stmt.body):
            return False
    return True
