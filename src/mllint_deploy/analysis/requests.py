"""Request input in the dataflow walk: where it enters, what validates it, which models it reaches.

A mixin of `ScopeWalker`: the same walk and the same values as the leakage analysis, with two facets
of `Data` (`raw`: request input nothing validated on the way; `client`: request input, validated or
not) and the serving events of a scope (`ModelUse`, `ModelLoad`, imported calls).

- Input: a request handler's raw parameters (handlers.py), a request object's body attributes
  (`request.json`, `await request.json()`, `event["body"]`), and everything computed from them.
- Validation: parsing into a pydantic model or dataclass (`Model(**data)`, `model_validate`),
  marshmallow/jsonschema validation, a project function named `validate*`/`check*`/`parse*`, and a
  guard whose body rejects (`if ...: abort()/raise/return`) clean what they check. An allow-list
  membership guard also makes a value safe to use as a path.
- Models: names bound to loaded models anywhere in the module (models.py), and receivers named like
  models, asked to predict; torch modules, with the `no_grad`/`inference_mode` context in force.
- Loads: every loader call, with whether its path comes from the request, and whether it is a lazy
  one-time initialisation (`if model is None:`) or in a cached function.
"""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from mllint_deploy.analysis.handlers import class_validates, serving_knowledge
from mllint_deploy.analysis.models import (
    decorated_no_grad, is_cached, is_lazy_test, is_membership, only_presence,
)
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.values import Data, ModelLoad, ModelUse, ParamSource, Request, Seq

_PREDICTS = frozenset({"predict", "predict_proba", "predict_log_proba", "decision_function"})
_NOT_DATA_BUILTINS = frozenset({"len", "isinstance", "type", "bool", "print"})
NOT_HANDLED = object()


class _Names(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)


def names_in(expr) -> set[str]:
    v = _Names()
    expr.visit(v)
    return v.names


def real_input(d: Data | None) -> bool:
    """Request input from this scope's own sources (not a parameter standing for a caller's value)."""
    return d is not None and d.client is not None and not isinstance(d.client, ParamSource)


def tainted(value) -> Data | None:
    """The first request-derived data in a value (a `Data`, or a list/tuple holding some)."""
    if isinstance(value, Data):
        return value if value.client is not None else None
    if isinstance(value, Seq):
        for item in value.items:
            found = tainted(item)
            if found is not None:
                return found
    return None


class RequestTransfer:
    """Request-input transfer functions of the dataflow walk (see the module docstring)."""

    def _start_function(self, fn: cst.FunctionDef) -> None:
        self._no_grad = decorated_no_grad(self.idx, fn)
        self._cached = is_cached(self.idx, fn)

    # -- sources -------------------------------------------------------------------------------
    def _raw(self, node) -> Data:
        return self._new_data("", node, "call", raw=node, client=node)

    def _names_request(self, name: str) -> bool:
        return isinstance(self.env.get(name), Request) or (
            name not in self.env and self.idx.aliases.get(name) in serving_knowledge()["request_globals"])

    def _on_request(self, expr) -> bool:
        """`request.files`, `request.headers.get`: an expression that starts at a request object."""
        name = dotted(expr)
        return bool(name) and self._names_request(name.split(".")[0])

    def _is_request(self, expr) -> bool:
        if isinstance(expr, (cst.Name, cst.Attribute)):
            value = self.env.get(dotted(expr) or "")
            if isinstance(value, Request):
                return True
            return self.idx.qualify(expr, self.scope) in serving_knowledge()["request_globals"]
        return False

    def _request_attribute(self, expr: cst.Attribute):
        """`request.json`, `request.form` ...: raw input; `form.cleaned_data`: validated."""
        attr = expr.attr.value
        if self._is_request(expr.value):
            if attr in serving_knowledge()["raw_request_attributes"]:
                return self._raw(expr)
            return self._new_data(dotted(expr) or "", expr, "unknown")  # `request.app.state.model`
        if attr in ("validated_data", "cleaned_data"):  # DRF serializer / Django form output
            base = self._eval(expr.value)
            return self._clean(base, expr)
        return NOT_HANDLED

    def _clean(self, value, node, keep_client: bool = True) -> Data:
        source = tainted(value)
        return self._new_data("", node, "call", client=source.client if source is not None and keep_client else None)

    # -- calls ---------------------------------------------------------------------------------
    def _request_call(self, call: cst.Call, qn: str | None):
        """Calls that read, validate or load; NOT_HANDLED for the others (the walk evaluates them)."""
        if not self.book.tracks_input:
            return NOT_HANDLED
        k = serving_knowledge()
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in k["raw_request_attributes"] \
                and self._is_request(func.value):
            self._args(call)
            return self._raw(call)
        if isinstance(func, cst.Attribute) and self._on_request(func.value):
            receiver = self._eval(func.value)  # `request.files.get("model")`: a method of request data
            self._args(call)
            if isinstance(receiver, Data):
                return self._derive([receiver], call)
            return self._new_data("", call, "unknown")
        loader = self.book.models.loader_names.get(id(call))
        if loader is not None and qn not in self.k.data_readers:
            # a loaded model or artifact: not request data, whatever chose the path
            self._record_load(call, loader, self._args(call))
            return self._new_data("", call, "call")
        if self._validates(call, qn) and self._mentions_input(call):
            args = self._args(call)
            source = tainted(Seq(list(args[0]) + list(args[1].values())))
            for a in call.args:  # `validate(payload)` cleans the name it checks
                name = dotted(a.value)
                if name in self.env and isinstance(self.env[name], Data) and self.env[name].raw is not None:
                    self.env[name] = replace(self.env[name], raw=None)
            return self._new_data("", call, "call", client=source.client if source is not None else None)
        return NOT_HANDLED

    def _after_call(self, call: cst.Call, qn: str | None, args) -> None:
        """Record the load, the model use or the imported call this call is."""
        if not self.book.tracks_input:
            return
        loader = self.book.models.loader_names.get(id(call))
        values = list(args[0]) + list(args[1].values()) if args is not None else []
        if loader is not None:  # a data reader that can unpickle (`np.load`)
            self._record_load(call, loader, args)
            return
        if qn is not None and "." in qn and self.k.concepts.concept(qn) is None:
            self.flow.project_calls.append((call, qn))
        self._taint_receiver(call, values)
        use = self._model_receiver(call, qn)
        if use is not None:
            receiver, method, torch, built_by = use
            datas = tuple(d for v in values for d in self._datas(v))
            self.flow.model_uses.append(ModelUse(index=self._next(), node=call, receiver=receiver, method=method,
                                                 datas=datas, no_grad=self._no_grad, torch=torch,
                                                 built_by=built_by))

    def _mentions_input(self, call: cst.Call) -> bool:
        """Whether the call reads a name holding request input (or a request object)."""
        for name in names_in(call):
            value = self.env.get(name)
            if self._names_request(name) or (isinstance(value, Data) and value.client is not None):
                return True
        return False

    def _taint_receiver(self, call: cst.Call, values: list) -> None:
        """`rows.append(payload["x"])`, `pb_request.inputs["x"].CopyFrom(make_tensor_proto(X))`: a method
        given request input fills the object it is called on."""
        func = call.func
        if not isinstance(func, cst.Attribute):
            return
        source = tainted(Seq(values))
        if source is None or not real_input(source):
            return
        root = func.value
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        if not isinstance(root, cst.Name) or root.value in ("self", "cls"):
            return
        current = self.env.get(root.value)
        if isinstance(current, Data) and current.client is None:
            self.env[root.value] = replace(current, raw=source.raw, client=source.client)

    def _record_load(self, call: cst.Call, loader: str, args) -> None:
        values = list(args[0]) + list(args[1].values()) if args is not None else []
        datas = tuple(d for v in values for d in self._datas(v))
        self.flow.loads.append(ModelLoad(index=self._next(), node=call, loader=loader, datas=datas,
                                         untrusted=any(real_input(d) for d in datas),
                                         lazy=self._lazy > 0, cached=self._cached))

    def _model_receiver(self, call: cst.Call, qn: str | None):
        """(receiver, method, is torch, built by) when the call asks a model for predictions."""
        k = serving_knowledge()
        models = self.book.models
        func = call.func
        whole = dotted(func)
        if isinstance(func, cst.Attribute) and qn is None and whole not in models.names \
                and whole not in models.from_calls:
            receiver = dotted(func.value) or ""
            method = func.attr.value
            if receiver in ("self", "cls") or self._is_request(func.value):
                return None
            if method in _PREDICTS:
                model_like = True
            elif method in k["predict_methods"] or method in ("forward", "__call__"):
                model_like = models.is_model(receiver) or receiver in models.names
            else:
                model_like = False
            if not model_like:
                return None
            return receiver, method, method == "forward" and receiver in models.torch, None
        receiver = whole or ""
        if receiver and (receiver in models.names or receiver in models.torch):
            return receiver, "__call__", receiver in models.torch, None
        if receiver in models.from_calls:  # a model built by a helper in another module
            return receiver, "__call__", False, models.from_calls[receiver]
        return None

    def _validates(self, call: cst.Call, q: str | None) -> bool:
        k = serving_knowledge()
        func = call.func
        if q is not None and q in k["validating_functions"]:
            return True
        if isinstance(func, cst.Attribute) and q is None and func.attr.value in k["validating_methods"]:
            return not self._is_request(func.value)
        name = func.value if isinstance(func, cst.Name) else (func.attr.value if isinstance(func, cst.Attribute)
                                                               else "")
        if name.lower().startswith(tuple(k["validator_prefixes"])):
            return True
        classes = self.book.module.classes
        if isinstance(func, cst.Name) and func.value in classes:
            return class_validates(self.idx, classes[func.value], classes)
        if name[:1].isupper() and any(a.star == "**" for a in call.args):
            return True  # `Features(**payload)`: a pydantic model or dataclass built from the payload
        if q is not None and (q.startswith("pydantic.") or q.rsplit(".", 1)[-1] == "TypeAdapter"):
            return True
        return False

    # -- statements ----------------------------------------------------------------------------
    def _guarded(self, test) -> set[str]:
        """Names holding request input that a branch test checks (not only for presence)."""
        if not self.book.tracks_input or only_presence(test):
            return set()
        return {n for n in names_in(test) if isinstance(self.env.get(n), Data) and self.env[n].raw is not None}

    def _rejects(self, body) -> bool:
        k = serving_knowledge()
        for stmt in body:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Raise, cst.Return)):
                        return True
                    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                        name = dotted(small.value.func) or ""
                        if name.rsplit(".", 1)[-1] in ("abort", "exit") or self.idx.qualify(
                                small.value.func) in k["rejecting_calls"]:
                            return True
        return False

    def _after_guard(self, stmt: cst.If, guarded: set[str]) -> None:
        """A guard whose body rejects has checked the names it tests (an allow-list fully)."""
        if not guarded or not self._rejects(stmt.body.body):
            return
        allowlist = is_membership(stmt.test)
        for name in guarded:
            value = self.env.get(name)
            if isinstance(value, Data):
                self.env[name] = replace(value, raw=None, client=None if allowlist else value.client)

    def _lazy_branch(self, test) -> bool:
        return is_lazy_test(test)

    def _assert(self, small: cst.Assert) -> None:
        for name in names_in(small.test):
            value = self.env.get(name)
            if isinstance(value, Data) and value.raw is not None:
                self.env[name] = replace(value, raw=None)

    def _entering_no_grad(self, stmt: cst.With) -> bool:
        return any(isinstance(item.item, cst.Call) and self.idx.qualify(item.item.func)
                   in serving_knowledge()["torch_no_grad"] for item in stmt.items)

    def _carry_input(self, value, call, args):
        """A call's result computed from request input is request input (`preprocessor.from_url(url)`)."""
        if args is None or not self.book.tracks_input or (value is not None and not isinstance(value, Data)):
            return value
        if isinstance(value, Data) and value.client is not None:
            return value
        name = call.func.value if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) else ""
        if name in _NOT_DATA_BUILTINS:
            return value
        source = tainted(Seq(list(args[0]) + list(args[1].values())))
        if source is None:
            return value
        # an opaque function of request input may transform it (a shared `prepare()` ...): altered
        if value is None:
            return self._new_data("", call, "call", raw=source.raw, client=source.client, altered=True)
        return replace(value, raw=source.raw, client=source.client, altered=True)

    def _value_of_builtin(self, name: str, args):
        """`float(x)`, `dict(x)`, `str(x)` of request input is request input (`len`, `isinstance`: not)."""
        if name in _NOT_DATA_BUILTINS:
            return None
        source = tainted(Seq(list(args[0]) + list(args[1].values())))
        return self._new_data("", None, "call", raw=source.raw, client=source.client) if source else None
