"""Per-file facts for the production-readiness checklist: the evidence one file holds that a project
has a split, a baseline, named and per-slice metrics, a feature schema, seeds and versions recorded,
invalid-input tests and monitoring (what to look for is `rules/knowledge/readiness.yaml`).

Built from the module index the rules already computed (one extra walk over the parsed tree, no
parse), small and picklable: the cache stores these with the file's other facts, and the checklist
reads them without the source. Lines are in the analysed text (a notebook's joined cells)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

import libcst as cst

from mllint_deploy.analysis.handlers import find_handlers
from mllint_deploy.analysis.models import loader_name
from mllint_deploy.analysis.names import ModuleIndex, ScopeInfo, dotted
from mllint_deploy.knowledge import knowledge

TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test|conftest)\.(py|ipynb)$|(^|/)tests?/")


@dataclass(frozen=True)
class Evaluation:
    """A metric computed on a model's output: which metric, where, and whether the model is a baseline."""

    metric: str  # normalised: `f1_score`, `"f1"` and `make_scorer(f1_score)` are all "f1"
    line: int
    baseline: bool


@dataclass
class ReadinessFacts:
    path: str
    test_file: bool = False
    # evidence kind (see rules/checklist.yaml) -> [(line, what was seen)]
    evidence: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    evaluations: list[Evaluation] = field(default_factory=list)

    def add(self, kind: str, line: int, what: str) -> None:
        self.evidence.setdefault(kind, []).append((line, what))


@functools.lru_cache(maxsize=None)
def _names() -> dict:
    k = knowledge()
    r = k.evidence_names
    return {
        "baselines": frozenset(r("baselines")),
        "metric_prefixes": tuple(k.prefixes["metrics"]) + r("metric_prefixes"),
        "not_metrics": r("not_metrics"),
        "metric_keywords": frozenset(r("metric_keywords")),
        "default_score": frozenset(r("default_score_methods")),
        "slice_metrics": frozenset(r("slice_metrics")),
        "per_class": dict(k.readiness["per_class_keywords"]),
        "group_methods": frozenset(r("group_methods")),
        "group_apply": frozenset(r("group_apply_methods")),
        "group_keys": frozenset(r("group_key_methods")),
        "schema_bases": frozenset(r("schema_bases")),
        "schema_calls": frozenset(r("schema_calls")),
        "schema_prefixes": r("schema_prefixes"),
        "tracker_prefixes": r("tracker_prefixes"),
        "seed_words": r("seed_words"),
        "seed_log_calls": frozenset(r("seed_log_calls")),
        "version_calls": frozenset(r("version_calls")),
        "version_attributes": frozenset(r("version_attributes")),
        "environment_loggers": frozenset(r("environment_loggers")),
        "environment_suffixes": r("environment_logger_suffixes"),
        "test_clients": frozenset(r("test_clients")),
        "test_client_methods": frozenset(r("test_client_methods")),
        "client_params": frozenset(r("test_client_parameters")),
        "request_methods": frozenset(r("request_methods")),
        "schema_errors": frozenset(r("schema_errors")),
        "raises": frozenset(r("raises_helpers")),
        "status_attributes": frozenset(r("status_attributes")),
        "rejection_words": r("rejection_status_words"),
        "monitoring_prefixes": r("monitoring_prefixes"),
        "logger_factories": frozenset(r("logger_factories")),
        "logger_modules": r("logger_modules"),
        "log_methods": frozenset(r("log_methods")),
        "predict": k.method_names("predict"),
        "fit": k.method_names("fit"),
        "training_roles": ("estimator", "train_function", "fitting_function", "search"),
        "split_roles": ("split", "splitter", "cross_validation"),
    }


def metric_key(name: str) -> str:
    """`sklearn.metrics.f1_score`, `"f1"`, `"neg_mean_squared_error"` -> `f1`, `mean_squared_error`."""
    key = name.rsplit(".", 1)[-1].lower()
    key = key.removeprefix("neg_")
    return key.removesuffix("_score")


def _names_in(node: cst.CSTNode, depth: int = 0) -> set[str]:
    """Every plain name an expression mentions (bounded depth: payloads can be deep literals)."""
    out: set[str] = set()
    if depth > 12:
        return out
    if isinstance(node, cst.Name):
        out.add(node.value)
        return out
    for child in node.children:
        out |= _names_in(child, depth + 1)
    return out


def _calls_in(node: cst.CSTNode, depth: int = 0) -> list[cst.Call]:
    out: list[cst.Call] = []
    if depth > 12:
        return out
    if isinstance(node, cst.Call):
        out.append(node)
    for child in node.children:
        out += _calls_in(child, depth + 1)
    return out


def _strings_in(node: cst.CSTNode, depth: int = 0) -> list[str]:
    out: list[str] = []
    if depth > 8:
        return out
    if isinstance(node, cst.SimpleString):
        try:
            value = node.evaluated_value
        except Exception:
            return out
        if isinstance(value, str):
            out.append(value)
    for child in node.children:
        out += _strings_in(child, depth + 1)
    return out


def _keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _method(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


class _Walk(cst.CSTVisitor):
    """One walk over the module: calls with their scope and enclosing loops, classes, asserts."""

    def __init__(self, ctx, facts: ReadinessFacts):
        self.ctx = ctx
        self.idx: ModuleIndex = ctx.index
        self.facts = facts
        self.n = _names()
        self.scope: list[ScopeInfo] = [self.idx.module_scope]
        self.functions: list[cst.FunctionDef] = []
        self.group_loops: list[bool] = []  # per enclosing loop: does it run over groups (`df.groupby(...)`)
        self.loop_targets: list[dict[str, tuple[bool, bool]]] = []  # name -> (holds a baseline, holds a model)
        self.handler_ids = {id(h.node) for h in find_handlers(ctx)} if not facts.test_file else set()
        self.test: dict | None = None  # the test function being walked: its posts and rejections
        self.param_metrics: dict[str, list[tuple[int, str, int]]] = {}  # function -> (param index, metric, line)
        self.helper_calls: list[tuple[str, cst.Call, ScopeInfo]] = []

    def line(self, node: cst.CSTNode) -> int:
        return self.ctx.line_of(node)

    # -- scopes ------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.append(self.idx.scopes.get(node, self.scope[-1]))
        self.functions.append(node)
        if id(node) in self.handler_ids:
            self.facts.add("serving", self.line(node), f"request handler {node.name.value}()")
        if self.facts.test_file and node.name.value.startswith("test") and self.test is None:
            self.test = {"node": node, "posts": [], "rejects": False}

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scope.pop()
        self.functions.pop()
        if self.test is not None and self.test["node"] is original_node:
            name = original_node.name.value
            for line, what in self.test["posts"]:
                kind = "invalid_input_test" if self.test["rejects"] else "client_test"
                verdict = "asserts a rejection" if self.test["rejects"] else "asserts no rejection"
                self.facts.add(kind, line, f"{name}() sends {what} and {verdict}")
            self.test = None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            q = self.idx.qualify(base.value)
            if q in self.n["schema_bases"]:
                self.facts.add("schema", self.line(node), f"class {node.name.value}({q})")

    def visit_For(self, node: cst.For) -> None:
        iter_calls = _calls_in(self._resolved(node.iter))
        self.group_loops.append(any(_method(c) in self.n["group_keys"] for c in iter_calls))
        holds_baseline = any(self._is_baseline_call(c) for c in iter_calls)
        holds_model = any(not self._is_baseline_call(c) and self._is_training_call(c) for c in iter_calls)
        self.loop_targets.append({name: (holds_baseline, holds_model) for name in _names_in(node.target)})

    def leave_For(self, original_node: cst.For) -> None:
        self.group_loops.pop()
        self.loop_targets.pop()

    def _resolved(self, expr: cst.BaseExpression) -> cst.BaseExpression:
        """`models.items()` where `models = {...}`: the literal the loop runs over."""
        while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and not expr.args:
            expr = expr.func.value
        if isinstance(expr, cst.Name):
            value = self.idx.last_value(expr.value, self.scope[-1])
            if value is not None:
                return value
        return expr

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value in self.n["version_attributes"]:
            module = self.idx.qualify(node.value, self.scope[-1])
            if module:
                self.facts.add("version_record", self.line(node), f"{module}.{node.attr.value} read")

    def visit_Assert(self, node: cst.Assert) -> None:
        if self.test is not None and self._is_rejection_check(node.test):
            self.test["rejects"] = True

    # -- calls -------------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        scope = self.scope[-1]
        q = self.idx.call_name(node, scope)
        concept = knowledge().concept(q) if q else None
        line = self.line
        if concept is not None:
            if any(concept.is_(r) for r in self.n["training_roles"]):
                self.facts.add("training", line(node), q)
            if any(concept.is_(r) for r in self.n["split_roles"]):
                self.facts.add("split", line(node), q)
            if concept.is_("seeder"):
                self.facts.add("seed", line(node), f"{q}()")
            elif concept.seed and _keyword(node, concept.seed) is not None:
                self.facts.add("seed", line(node), f"{q}({concept.seed}=...)")
        elif _method(node) in self.n["fit"] and q is None:
            self.facts.add("training", line(node), f".{_method(node)}()")
        if q is not None:
            self._library_call(node, q, scope)
        elif isinstance(node.func, cst.Name) and any(fn.name.value == node.func.value for fn, _ in self.idx.functions):
            self.helper_calls.append((node.func.value, node, scope))
        loader = loader_name(self.idx, node, scope)
        if loader is not None:
            self.facts.add("model_load", line(node), f"{loader}()")
        method = _method(node)
        if method in self.n["default_score"] and q is None:
            self.facts.add("default_score", line(node), f"{dotted(node.func) or '.' + method}()")
        if method in self.n["group_apply"] and self._applies_metric_per_group(node):
            self.facts.add("slice_metric", line(node), f".groupby(...).{method}(metric)")
        named = self._metric_keyword(node)
        if named is not None:
            self._evaluation(node, named, scope)
        if self.test is not None:
            self._test_call(node, q, method)
        if self.functions and id(self.functions[-1]) in self.handler_ids and self._logs_prediction(node, q, scope):
            self.facts.add("monitoring", line(node), "predictions logged in the request handler")

    def _library_call(self, node: cst.Call, q: str, scope: ScopeInfo) -> None:
        n, line = self.n, self.line(node)
        if q in n["baselines"]:
            self.facts.add("baseline", line, f"{q.rsplit('.', 1)[-1]}()")
        if q in n["schema_calls"] or q.startswith(n["schema_prefixes"]):
            self.facts.add("schema", line, f"{q}()")
        if q in n["slice_metrics"]:
            self.facts.add("slice_metric", line, f"{q.rsplit('.', 1)[-1]}()")
        if self._is_metric(q):
            key = self._metric_of(node, q)
            self.facts.add("metric", line, f"{q}()")
            per_class = any((a := _keyword(node, kw)) is not None and _literal(a.value) in values
                            for kw, values in n["per_class"].items())
            if per_class or any(self.group_loops):
                self.facts.add("slice_metric", line, f"{q.rsplit('.', 1)[-1]}() " +
                               ("per class" if per_class else "in a loop over groups"))
            self._evaluation(node, key, scope)
        if q.startswith(n["tracker_prefixes"]):
            self.facts.add("tracker", line, f"{q}()")
            if q.rsplit(".", 1)[-1] in n["seed_log_calls"] and self._mentions_seed(node):
                self.facts.add("seed_logged", line, f"{q}() logs the seed")
        if q in n["version_calls"]:
            self.facts.add("version_record", line, f"{q}()")
        if q in n["environment_loggers"] or (q.startswith("mlflow.") and q.endswith(n["environment_suffixes"])):
            self.facts.add("version_record", line, f"{q}() records the environment with the model")
        if q.startswith(n["monitoring_prefixes"]):
            self.facts.add("monitoring", line, f"{q}()")

    def _is_metric(self, q: str) -> bool:
        return q.startswith(self.n["metric_prefixes"]) and not q.startswith(self.n["not_metrics"]) \
            and q not in self.n["slice_metrics"]

    def _metric_of(self, node: cst.Call, q: str) -> str:
        if q.endswith("make_scorer") and node.args:
            inner = self.idx.qualify(node.args[0].value, self.scope[-1])
            return metric_key(inner or dotted(node.args[0].value) or "custom")
        if q.endswith("evaluate.load") and node.args:
            return metric_key(next(iter(_strings_in(node.args[0].value)), "custom"))
        return metric_key(q)

    def _metric_keyword(self, node: cst.Call) -> str | None:
        """`scoring="f1"`, `metrics=["accuracy"]`, `scoring=make_scorer(f1_score)`: the metric named."""
        for kw in self.n["metric_keywords"]:
            arg = _keyword(node, kw)
            if arg is None:
                continue
            strings = _strings_in(arg.value)
            if strings:
                self.facts.add("metric", self.line(node), f"{kw}={strings[0]!r}")
                return metric_key(strings[0])
            for inner in _calls_in(arg.value):
                q = self.idx.call_name(inner, self.scope[-1])
                if q and self._is_metric(q):
                    return None  # the metric call itself is recorded when it is visited
        return None

    # -- baselines and the metric they are evaluated with -------------------------------------
    def _evaluation(self, node: cst.Call, metric: str, scope: ScopeInfo) -> None:
        fed = self._feeds(node, scope)
        line = self.line(node)
        if fed["baseline"]:
            self.facts.evaluations.append(Evaluation(metric, line, True))
        if fed["model"] or not (fed["baseline"] or fed["params"]):
            self.facts.evaluations.append(Evaluation(metric, line, False))  # (a helper's: at each call)
        fn = self.functions[-1] if self.functions else None
        if fn is not None and fed["params"]:
            for index in fed["params"]:
                self.param_metrics.setdefault(fn.name.value, []).append((index, metric, line))

    def _feeds(self, node: cst.Call, scope: ScopeInfo) -> dict:
        """What the metric's arguments are computed from: a baseline, a model, a function parameter."""
        out = {"baseline": False, "model": False, "params": set()}
        for arg in node.args:
            for call in _calls_in(arg.value):
                if self._is_baseline_call(call):
                    out["baseline"] = True
            for name in _names_in(arg.value):
                self._name_feeds(name, scope, out, 0)
        return out

    def _name_feeds(self, name: str, scope: ScopeInfo, out: dict, depth: int) -> None:
        if depth > 4:
            return
        for targets in reversed(self.loop_targets):
            if name in targets:
                baseline, model = targets[name]
                out["baseline"] |= baseline
                out["model"] |= model
                return
        if name in scope.params and scope is not self.idx.module_scope:
            out["params"].add(scope.params.index(name))
            return
        for value in self.idx.bound_values(name, scope) or ():
            for call in _calls_in(value):
                if self._is_baseline_call(call):
                    out["baseline"] = True
            if isinstance(value, cst.Call) and _method(value) in self.n["predict"] | self.n["fit"]:
                receiver = dotted(value.func.value)
                if receiver and "." not in receiver:
                    self._name_feeds(receiver, scope, out, depth + 1)

    def _is_baseline_call(self, call: cst.Call) -> bool:
        return self.idx.call_name(call, self.scope[-1]) in self.n["baselines"]

    def _is_training_call(self, call: cst.Call) -> bool:
        concept = knowledge().concept(self.idx.call_name(call, self.scope[-1]))
        return concept is not None and any(concept.is_(r) for r in self.n["training_roles"])

    def _applies_metric_per_group(self, node: cst.Call) -> bool:
        receiver = node.func.value if isinstance(node.func, cst.Attribute) else None
        if receiver is None or not any(_method(c) in self.n["group_methods"] for c in _calls_in(receiver)):
            return False
        for arg in node.args:
            for call in _calls_in(arg.value):
                q = self.idx.call_name(call, self.scope[-1])
                if q and self._is_metric(q):
                    return True
            q = self.idx.qualify(arg.value, self.scope[-1])
            if q and self._is_metric(q):
                return True
        return False

    def _mentions_seed(self, node: cst.Call) -> bool:
        words = self.n["seed_words"]
        texts = [s.lower() for a in node.args for s in _strings_in(a.value)]
        texts += [n.lower() for a in node.args for n in _names_in(a.value)]
        texts += [a.keyword.value.lower() for a in node.args if a.keyword is not None]
        return any(w in t for t in texts for w in words)

    # -- tests and monitoring ----------------------------------------------------------------
    def _test_call(self, node: cst.Call, q: str | None, method: str | None) -> None:
        n = self.n
        if q in n["raises"] and node.args:
            error = self.idx.qualify(node.args[0].value, self.scope[-1])
            if error in n["schema_errors"]:
                self.facts.add("invalid_input_test", self.line(node),
                               f"{self.test['node'].name.value}() expects {error.rsplit('.', 1)[-1]}")
        if method in n["request_methods"] and self._is_client(node.func.value):
            self.test["posts"].append((self.line(node), f"{dotted(node.func) or method}()"))
        if method and method.startswith("assert") and any(self._is_rejection_check(a.value) for a in node.args):
            self.test["rejects"] = True
        elif method and method.startswith("assert") and self._status_and_4xx(node.args):
            self.test["rejects"] = True

    def _is_client(self, expr: cst.BaseExpression) -> bool:
        n = self.n
        if isinstance(expr, cst.Call):
            return self.idx.call_name(expr, self.scope[-1]) in n["test_clients"] or _method(expr) in n["test_client_methods"]
        if not isinstance(expr, cst.Name):
            return False
        if expr.value in n["client_params"] and expr.value in self.scope[-1].params:
            return True
        for value in self.idx.bound_values(expr.value, self.scope[-1]) or ():
            if isinstance(value, cst.Call) and self._is_client(value):
                return True
        return False

    def _is_rejection_check(self, test: cst.BaseExpression) -> bool:
        """`r.status_code == 422`, `in (400, 422)`, `>= 400`, `== status.HTTP_422_...`."""
        if isinstance(test, cst.BooleanOperation):
            return self._is_rejection_check(test.left) or self._is_rejection_check(test.right)
        if not isinstance(test, cst.Comparison):
            return False
        sides = [test.left, *(c.comparator for c in test.comparisons)]
        if not any(isinstance(s, cst.Attribute) and s.attr.value in self.n["status_attributes"] for s in sides):
            return False
        for comp in test.comparisons:
            op = type(comp.operator).__name__
            if op in ("GreaterThanEqual", "GreaterThan") and _int(comp.comparator) in range(399, 500):
                return True
            if op in ("Equal", "In", "Is") and self._is_4xx(comp.comparator):
                return True
        return False

    def _status_and_4xx(self, args) -> bool:
        values = [a.value for a in args]
        return any(isinstance(v, cst.Attribute) and v.attr.value in self.n["status_attributes"] for v in values) \
            and any(self._is_4xx(v) for v in values)

    def _is_4xx(self, expr: cst.BaseExpression) -> bool:
        if _int(expr) in range(400, 500):
            return True
        if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
            return any(self._is_4xx(e.value) for e in expr.elements)
        name = dotted(expr) or ""
        return any(w in name for w in self.n["rejection_words"])

    def _logs_prediction(self, node: cst.Call, q: str | None, scope: ScopeInfo) -> bool:
        n = self.n
        method = _method(node)
        if q is not None:
            is_log = q.startswith(n["logger_modules"]) and method in n["log_methods"]
        else:
            receiver = dotted(node.func.value) if isinstance(node.func, cst.Attribute) else None
            value = self.idx.last_value(receiver, scope) if receiver and "." not in receiver else None
            is_log = method in n["log_methods"] and isinstance(value, cst.Call) and \
                self.idx.call_name(value, scope) in n["logger_factories"]
        if not is_log:
            return False
        for arg in node.args:
            if any(_method(c) in n["predict"] for c in _calls_in(arg.value)):
                return True
            for name in _names_in(arg.value):
                for value in self.idx.bound_values(name, scope) or ():
                    if any(_method(c) in n["predict"] for c in _calls_in(value)):
                        return True
        return False

    def finish(self) -> None:
        """A metric computed in a helper on its parameter: each call of the helper is an evaluation
        of what it passes (`evaluate(baseline, ...)`, `evaluate(model, ...)`)."""
        for name, call, scope in self.helper_calls:
            positional = [a for a in call.args if a.keyword is None]
            by_metric: dict[str, dict] = {}
            for index, metric, _ in self.param_metrics.get(name, ()):
                if index >= len(positional):
                    continue
                out = by_metric.setdefault(metric, {"baseline": False, "model": False, "params": set()})
                for inner in _calls_in(positional[index].value):
                    out["baseline"] |= self._is_baseline_call(inner)
                for ref in _names_in(positional[index].value):
                    self._name_feeds(ref, scope, out, 0)
            for metric, out in by_metric.items():  # `evaluate(baseline, X, y)`: one baseline evaluation
                if out["baseline"]:
                    self.facts.evaluations.append(Evaluation(metric, self.line(call), True))
                if out["model"] or not out["baseline"]:
                    self.facts.evaluations.append(Evaluation(metric, self.line(call), False))


def _int(expr: cst.BaseExpression) -> int | None:
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.value)
        except ValueError:
            return None
    return None


def _literal(expr: cst.BaseExpression):
    if isinstance(expr, cst.Name) and expr.value in ("None", "True", "False"):
        return {"None": None, "True": True, "False": False}[expr.value]
    if isinstance(expr, cst.SimpleString):
        return expr.evaluated_value
    return expr  # not a literal: equal to no listed value


def build_readiness_facts(ctx) -> ReadinessFacts:
    facts = ReadinessFacts(path=ctx.path, test_file=bool(TEST_FILE.search(ctx.path.replace("\\", "/"))))
    walk = _Walk(ctx, facts)
    ctx.module.visit(walk)
    walk.finish()
    for kind in facts.evidence:
        facts.evidence[kind] = sorted(set(facts.evidence[kind]))
    facts.evaluations = sorted(set(facts.evaluations), key=lambda e: (e.line, e.metric, e.baseline))
    return facts
