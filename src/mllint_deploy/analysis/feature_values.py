"""How the skew tracer evaluates an expression to a `Val` at a point of its scope (see features.py):
names through their ordered bindings, attributes, subscripts, calls of library and project functions,
methods of frames and payloads, literals, comprehensions and string pieces."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from mllint_deploy.analysis.calls import keyword, positional, string_value
from mllint_deploy.analysis.names import dotted

from mllint_deploy.analysis.columns import (
    DATA_KINDS, DEFINING, INF, SCALAR_CASTS, UNKNOWN, Val, axis_columns, bound_locally, is_true, lit,
    merge_specs,
)

_MAX_DEPTH = 40


class Evaluation:
    """The evaluation half of `Tracer` (a mixin: the tracer holds the bindings it reads)."""

    def eval(self, e, scope, o: int, d: int = 0) -> Val:
        if e is None or d > _MAX_DEPTH:
            return UNKNOWN
        key = (id(e), id(scope), o)
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            return UNKNOWN
        self._active.add(key)
        try:
            v = self._eval(e, scope, o, d)
        except RecursionError:
            v = UNKNOWN
        finally:
            self._active.discard(key)
        self._memo[key] = v
        return v

    def at(self, e, call: cst.Call) -> Val:
        """The value of `e`, an argument or receiver of `call`, where `call` happens."""
        return self.eval(e, self.scope_of(call), self.ord_of(call))

    def _eval(self, e, scope, o, d) -> Val:
        s = string_value(e)
        if s is not None:
            return Val("str", cols=lit((s,)), path=(("s", s),), raw=True, line=self.line(e))
        if isinstance(e, cst.Name):
            if e.value == "None":
                return Val("none")
            if e.value in ("True", "False"):
                return UNKNOWN
            return self.name_value(e.value, scope, o, d + 1)
        if isinstance(e, cst.Attribute):
            return self._attribute(e, scope, o, d)
        if isinstance(e, cst.Subscript):
            return self._subscript(e, scope, o, d)
        if isinstance(e, cst.Call):
            return self._call(e, scope, o, d)
        if isinstance(e, (cst.List, cst.Tuple)):
            return self._sequence(e, scope, o, d)
        if isinstance(e, cst.Dict):
            return self._dict(e, scope, o, d)
        if isinstance(e, cst.BinaryOperation):
            return self._binary(e, scope, o, d)
        if isinstance(e, (cst.FormattedString, cst.ConcatenatedString)):
            return Val("str", path=self._fstring_pieces(e, scope, o, d), raw=True)
        if isinstance(e, cst.DictComp):
            spec = self._comprehension_columns(e, e.key, scope, o, d)
            return Val("row", cols=spec, raw=True, line=self.line(e)) if spec is not None else UNKNOWN
        if isinstance(e, (cst.ListComp, cst.GeneratorExp)):
            elt = e.elt
            spec = self._comprehension_columns(e, elt, scope, o, d, item=True)
            if spec is not None:
                return Val("vector", cols=spec, raw=True, line=self.line(e))
            if isinstance(elt, cst.Dict):
                row = self._dict(elt, scope, o, d)
                return Val("records", cols=row.cols, raw=True, line=row.line)
            if isinstance(elt, cst.Call) and isinstance(elt.func, cst.Attribute) \
                    and elt.func.attr.value in self.k.dump_methods:
                return Val("records", raw=True, line=self.line(e))
            return UNKNOWN
        if isinstance(e, cst.Await):
            return self.eval(e.expression, scope, o, d + 1)
        return UNKNOWN

    # names
    def name_value(self, name: str, scope, o: int, d: int) -> Val:
        entries = self.binds.get(id(scope), {}).get(name, [])
        start = None
        for i in range(len(entries) - 1, -1, -1):
            eo, op = entries[i]
            if eo < o and op[0] in DEFINING:
                start = i
                break
        if start is not None:
            eo, op = entries[start]
            v = self._define(name, op, scope, eo, d)
            rest = entries[start + 1:]
        else:
            v = self._outer(name, scope, d)
            rest = entries
        for eo2, op2 in rest:
            if eo2 >= o:
                break
            if op2[0] not in DEFINING:
                v = self._mutate(v, op2, scope, eo2, d)
        return v

    def _outer(self, name: str, scope, d: int) -> Val:
        if scope is not self.idx.module_scope:
            if name in scope.params:
                return self._param(name, scope, d)
            parent = scope.parent if scope.parent is not None else self.idx.module_scope
            v = self.name_value(name, parent, INF, d + 1)
            if v.kind != "loaded":
                for gscope, go, gop in self.global_binds.get(name, ()):
                    g = self._define(name, gop, gscope, go, d)
                    if g.kind == "loaded":
                        return g
            return v
        q = self.idx.qualify(cst.Name(name), None)
        if q is not None:
            if self.k.is_request_object(q):
                return Val("param", raw=True)
            return Val("ref", cols=("ref", q), path=(("r", q),))
        for gscope, go, gop in self.global_binds.get(name, ()):
            g = self._define(name, gop, gscope, go, d)
            if g.kind == "loaded":
                return g
        return UNKNOWN

    def _param(self, name: str, scope, d: int) -> Val:
        fn = scope.node
        if isinstance(fn, cst.FunctionDef) and self._functions.get(fn.name.value) is fn and d < 20:
            sites = [(c, s) for c, s in self.call_sites(fn.name.value) if s is not scope]
            if len(sites) == 1:
                call, s = sites[0]
                i = scope.params.index(name)
                arg = keyword(call, name)
                if arg is None and not any(a.star for a in call.args):
                    arg = positional(call, i)
                if arg is not None:
                    v = self.eval(arg, s, self.ord_of(call), d + 1)
                    if v.kind != "unknown":
                        return v
        if isinstance(fn, cst.FunctionDef):
            for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params):
                if p.name.value == name and p.annotation is not None:
                    cls = dotted(p.annotation.annotation)
                    if cls in self.schemas():
                        return Val("param", raw=True, key=cls)
        return Val("param", raw=True)

    def _define(self, name: str, op: tuple, scope, eo: int, d: int) -> Val:
        kind = op[0]
        if kind == "expr":
            return self.eval(op[1], scope, eo, d + 1)
        if kind == "unpack":
            return self._unpack(op[1], op[2], op[3], scope, eo, d)
        if kind == "import":
            if self.k.is_request_object(op[1]):
                return Val("param", raw=True)
            return Val("ref", cols=("ref", op[1]), path=(("r", op[1]),))
        if kind == "aug":
            prev = self.name_value(name, scope, eo, d + 1)
            right = self.eval(op[2], scope, eo, d + 1)
            if isinstance(op[1], cst.AddAssign):
                return self._add_values(prev, right)
            return Val(prev.kind, cols=prev.cols, raw=False, line=prev.line) if prev.kind in DATA_KINDS else UNKNOWN
        return UNKNOWN

    def _unpack(self, value, i: int, n: int, scope, o: int, d: int) -> Val:
        if isinstance(value, (cst.Tuple, cst.List)) and len(value.elements) == n \
                and not any(isinstance(el, cst.StarredElement) for el in value.elements):
            return self.eval(value.elements[i].value, scope, o, d + 1)
        if isinstance(value, cst.Call):
            q = self.idx.call_name(value, scope)
            if q in self.k.split_functions:
                arrays = [a.value for a in value.args if a.keyword is None and not a.star]
                if arrays and len(arrays) * 2 == n and not any(a.star for a in value.args):
                    return self.eval(arrays[i // 2], scope, o, d + 1)
        return UNKNOWN

    def _mutate(self, v: Val, op: tuple, scope, eo: int, d: int) -> Val:
        kind = op[0]
        if kind == "setitem":
            key_expr = op[1]
            if v.kind == "loaded":
                return v
            if v.kind in ("frame", "row", "records"):
                names = self.strs(key_expr, scope, eo, d)
                if names is not None and v.cols is not None:
                    return replace(v, cols=("add", v.cols, names))
                return replace(v, cols=None)
            return v
        if kind == "delitem":
            if v.kind in ("frame", "row"):
                names = self.strs(op[1], scope, eo, d)
                return replace(v, cols=("drop", v.cols, names) if names is not None and v.cols else None)
            return v
        if kind == "call":
            call = op[1]
            method = call.func.attr.value
            if id(call) in self.load_index:
                return Val("loaded", load=self.load_index[id(call)])
            if method in self.k.load_state_methods:
                arg = self.eval(positional(call, 0), scope, eo, d + 1)
                if arg.kind == "loaded":
                    return arg
                return v
            if v.kind in ("frame", "row"):
                inplace = keyword(call, "inplace")
                if method == "update" and v.kind == "row":
                    arg = self.eval(positional(call, 0), scope, eo, d + 1)
                    if arg.kind == "row" and arg.cols is not None and v.cols is not None:
                        return replace(v, cols=("add", v.cols, arg.cols))
                    return replace(v, cols=None)
                if method == "pop" and v.kind == "row":
                    names = self.strs(positional(call, 0), scope, eo, d)
                    return replace(v, cols=("drop", v.cols, names) if names is not None and v.cols else None)
                if isinstance(inplace, cst.Name) and inplace.value == "True":
                    if method == "drop":
                        names = self._drop_names(call, scope, eo, d)
                        if names is not None and v.cols is not None:
                            return replace(v, cols=("drop", v.cols, names))
                        return v if names is None and keyword(call, "index") is not None else replace(v, cols=None)
                    if method in self.k.preserving:
                        return v
                    return replace(v, cols=None)
                if method in ("insert", "rename", "set_index", "clear"):
                    return replace(v, cols=None)
            return v
        return v

    # attributes and subscripts
    def _attribute(self, e: cst.Attribute, scope, o, d) -> Val:
        d_name = dotted(e)
        if d_name and "." in d_name:
            bound = self._attr_binding(d_name, d)
            if bound is not None:
                return bound
        q = self.idx.qualify(e, scope)
        if q is not None:
            if self.k.is_request_object(q):
                return Val("param", raw=True)
            return Val("ref", cols=("ref", q), path=(("r", q),))
        base = self.eval(e.value, scope, o, d + 1)
        attr = e.attr.value
        if attr in ("loc", "iloc") and base.kind in ("frame", "param"):
            return replace(base, kind="loc", key=attr)
        if attr == "loc" and base.kind == "unknown":  # a frame from a helper: `.loc[:, FEATURES]` still fixes columns
            return Val("loc", key="loc")
        if attr in self.k.array_attributes and base.kind in ("frame", "field"):
            if base.kind == "field" or base.loose:
                return Val("array", raw=base.raw)
            return Val("array", cols=base.cols, raw=base.raw, line=base.line)
        if base.kind == "path" or (base.kind == "str" and attr in ("parent",)):
            if attr == "parent":
                return Val("path", path=(("?",),))
            return UNKNOWN
        if base.kind == "param":
            return Val("field", cols=lit((attr,)), names=(attr,), raw=True)
        if base.kind == "loaded":
            return replace(base, key=attr)
        return UNKNOWN

    def _attr_binding(self, d_name: str, d: int) -> Val | None:
        candidates = []
        for key, binds in self.attrs.items():
            if key == d_name or (d_name.endswith("." + key) and key.count(".") >= 2):
                candidates.extend(binds)
        if not candidates:
            return None
        values = [self.eval(value, scope, o, d + 1) for scope, o, value in candidates]
        for v in values:
            if v.kind == "loaded":
                return v
        return values[-1]

    def _subscript(self, e: cst.Subscript, scope, o, d) -> Val:
        base_expr = e.value
        if isinstance(base_expr, cst.Name) and len(e.slice) == 1 and isinstance(e.slice[0].slice, cst.Index):
            key = string_value(e.slice[0].slice.value)
            if key is not None and (base_expr.value, key) in self.items:
                for s, so, value in self.items[(base_expr.value, key)]:
                    v = self.eval(value, s, so, d + 1)
                    if v.kind == "loaded":
                        return v
        base = self.eval(base_expr, scope, o, d + 1)
        if len(e.slice) == 2 and base.kind == "loc":
            first, second = e.slice[0].slice, e.slice[1].slice
            if isinstance(first, cst.Slice) and first.lower is None and first.upper is None \
                    and isinstance(second, cst.Index) and base.key == "loc":
                names = self.strs(second.value, scope, o, d)
                if names is not None:
                    return Val("frame", cols=names, raw=base.raw, line=self.line(e))
            return Val("frame", raw=base.raw) if base.key == "loc" else UNKNOWN
        if len(e.slice) != 1:
            return UNKNOWN
        sl = e.slice[0].slice
        if base.kind == "loaded":
            if isinstance(sl, cst.Index):
                key = string_value(sl.value)
                return replace(base, key=key) if key is not None else base
            return base
        if not isinstance(sl, cst.Index):
            if base.kind in ("frame", "array", "loc"):  # rows sliced
                return replace(base, kind="frame" if base.kind == "loc" else base.kind)
            return UNKNOWN
        index = sl.value
        if base.kind == "unknown":
            # a frame from somewhere unknown: a literal column selection still fixes the columns
            key = string_value(index)
            if key is not None:
                return Val("field", cols=lit((key,)), names=(key,), line=self.line(e))
            iv = self.eval(index, scope, o, d + 1)
            if iv.kind in ("strs",) or (iv.kind == "ref" and isinstance(index, (cst.Name, cst.Attribute))):
                return Val("frame", cols=iv.cols, line=self.line(e))
            if iv.kind == "str":
                return Val("field", cols=iv.cols, names=iv.cols[1] if iv.cols else None, line=self.line(e))
            return UNKNOWN
        if base.kind in ("frame", "param", "row", "field", "loc", "records"):
            key = string_value(index)
            if key is not None:
                return Val("field", cols=lit((key,)), names=(key,), raw=base.raw, line=self.line(e))
            if isinstance(index, (cst.Comparison, cst.BooleanOperation, cst.UnaryOperation)):
                return replace(base, kind="frame") if base.kind in ("frame", "loc") else UNKNOWN
            iv = self.eval(index, scope, o, d + 1)
            if iv.kind == "str":
                return Val("field", cols=iv.cols, names=iv.cols[1] if iv.cols else None, raw=base.raw,
                           line=self.line(e))
            if iv.kind in ("strs", "ref"):
                if base.kind in ("row", "records"):
                    return UNKNOWN
                return Val("frame", cols=iv.cols, raw=base.raw, line=self.line(e))
            if base.kind in ("frame", "loc"):
                return Val("frame", cols=base.cols if iv.kind in ("field", "frame") else None, raw=base.raw,
                           line=base.line)
            return UNKNOWN
        if base.kind == "array":
            return base
        return UNKNOWN

    # calls
    def _call(self, call: cst.Call, scope, o, d) -> Val:
        if id(call) in self.load_index:
            return Val("loaded", load=self.load_index[id(call)])
        k = self.k
        func = call.func
        schema = func.value if isinstance(func, cst.Attribute) and func.attr.value in k.schema_parse_methods \
            else func
        if isinstance(schema, cst.Name) and schema.value in self.schemas() \
                and not bound_locally(schema.value, scope, self.idx):
            return Val("param", raw=True, key=schema.value)
        q = self.idx.call_name(call, scope)
        if q is not None:
            return self._library(call, q, scope, o, d)
        if isinstance(func, cst.Name):
            return self._plain(call, func.value, scope, o, d)
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            recv = self.eval(func.value, scope, o, d + 1)
            return self._method(call, recv, method, scope, o, d)
        return UNKNOWN

    def _library(self, call, q, scope, o, d) -> Val:
        k = self.k
        first = positional(call, 0)
        if q in k.frame_constructors:
            return self._frame(call, scope, o, d)
        if q in k.array_constructors:
            v = self.eval(first, scope, o, d + 1)
            return self._as_array(v, call)
        if q in k.passthrough:
            return self.eval(first or keyword(call, "data"), scope, o, d + 1)
        if q in k.series_constructors:
            v = self.eval(first or keyword(call, "data"), scope, o, d + 1)
            return Val("field", raw=v.raw if first is not None else None)
        if q in k.path_join or q in k.path_constructors:
            parts = [a.value for a in call.args if a.keyword is None and not a.star]
            if not parts:
                return Val("path", path=(("?",),))
            return Val("path", path=self._join([self.eval(p, scope, o, d + 1) for p in parts]))
        if q in k.env_lookups:
            default = positional(call, 1) or keyword(call, "default")
            v = self.eval(default, scope, o, d + 1)
            return v if v.kind in ("str", "path") else UNKNOWN
        if k.is_request_object(q):
            return Val("row", raw=True)
        if q in k.row_wise and first is not None:
            v = self.eval(first, scope, o, d + 1)
            if v.kind in ("frame", "array"):
                return replace(v, raw=False)
            return UNKNOWN
        if q.startswith(("pandas.read_", "polars.read_")) and keyword(call, "usecols") is not None:
            names = self.strs(keyword(call, "usecols"), scope, o, d)
            return Val("frame", cols=names, line=self.line(call)) if names is not None else UNKNOWN
        return UNKNOWN

    def _plain(self, call, name: str, scope, o, d) -> Val:
        first = positional(call, 0)
        bound_fn = self._functions.get(name)
        if bound_fn is not None and not bound_locally(name, scope, self.idx):
            fscope = self.idx.scopes[bound_fn]
            values = [self.eval(rexpr, fscope, ro, d + 1) for ro, rexpr in self.returns.get(id(fscope), [])]
            loaded = [v for v in values if v.kind == "loaded"]
            if loaded:
                return loaded[-1]
            known = [v for v in values if v.kind in ("strs", "str", "path", "frame", "array", "rows2d", "records",
                                                     "row")]
            if known and len(known) == len(values) and all(
                    (v.kind, v.cols, v.names) == (known[0].kind, known[0].cols, known[0].names) for v in known):
                return known[0]
            return UNKNOWN
        if bound_locally(name, scope, self.idx):
            return UNKNOWN
        if name == "open":
            v = self.eval(first or keyword(call, "file"), scope, o, d + 1)
            return Val("handle", path=v.path) if v.path is not None else Val("handle")
        if name in ("list", "tuple"):
            v = self.eval(first, scope, o, d + 1)
            if v.kind == "row" and v.cols is not None and not v.loose:
                return Val("strs", cols=v.cols, line=v.line)  # list(FEATURE_TYPES): the dict's keys
            return v if v.kind in ("strs", "vector", "records", "rows2d", "ref") else UNKNOWN
        if name == "str":
            v = self.eval(first, scope, o, d + 1)
            return v if v.kind in ("str", "path", "ref") else UNKNOWN
        if name == "dict":
            if first is None and call.args and all(a.keyword is not None for a in call.args):
                return Val("row", cols=lit(a.keyword.value for a in call.args), raw=True, line=self.line(call))
            if first is not None:
                v = self.eval(first, scope, o, d + 1)
                if v.kind in ("row", "param"):
                    return Val("row", cols=v.cols if v.kind == "row" else None, raw=True, line=v.line)
            return UNKNOWN
        return UNKNOWN

    def _method(self, call, recv: Val, method: str, scope, o, d) -> Val:
        k = self.k
        if method in ("transform", "fit_transform"):
            return Val("frame", raw=False)
        kind = recv.kind
        if kind in ("frame", "field", "loc"):
            if method == "reindex":
                cols = keyword(call, "columns")
                if cols is None and axis_columns(call) and positional(call, 0) is not None:
                    cols = positional(call, 0)
                if cols is not None:
                    names = self.strs(cols, scope, o, d)
                    return Val("frame", cols=names, raw=recv.raw, line=self.line(call))
                return replace(recv, kind="frame")
            if method == "drop":
                names = self._drop_names(call, scope, o, d)
                if names is not None:
                    return Val("frame", cols=("drop", recv.cols, names) if recv.cols else None, raw=recv.raw,
                               line=self.line(call), loose=recv.loose)
                if keyword(call, "index") is not None:
                    return replace(recv, kind="frame")
                return Val("frame", raw=recv.raw)
            if method == "filter":
                items = keyword(call, "items") or positional(call, 0)
                names = self.strs(items, scope, o, d) if items is not None and keyword(call, "like") is None \
                    and keyword(call, "regex") is None else None
                return Val("frame", cols=names, raw=recv.raw, line=self.line(call))
            if method in k.array_methods:
                if kind == "field" or recv.loose:
                    return Val("array", raw=recv.raw)
                return Val("array", cols=recv.cols, raw=recv.raw, line=recv.line)
            if method in k.preserving or method in ("head", "tail", "sample", "query", "sort_values",
                                                     "drop_duplicates"):
                if method == "reset_index" and not is_true(keyword(call, "drop")):
                    return Val("frame", raw=recv.raw)
                return replace(recv, kind="frame" if kind == "loc" else kind)
            if method == "assign" and recv.cols is not None:
                names = tuple(a.keyword.value for a in call.args if a.keyword is not None)
                return replace(recv, cols=("add", recv.cols, lit(names)))
            return Val("frame", raw=None) if kind == "frame" else UNKNOWN
        if kind in ("array", "vector"):
            if method == "reshape":
                return Val("array", cols=recv.cols, names=recv.names, raw=recv.raw, line=recv.line)
            if method in ("astype", "copy", "tolist"):
                return recv
            return UNKNOWN
        if kind == "param":
            if method in k.dump_methods:
                if recv.key and method in ("dict", "model_dump"):
                    return self._schema_row(call, recv)
                return Val("row", raw=True, line=self.line(call))
            if method == "get":
                key = string_value(positional(call, 0))
                if key is not None:
                    return Val("field", cols=lit((key,)), names=(key,), raw=True)
            return UNKNOWN
        if kind == "row":
            if method == "copy":
                return recv
            if method == "values":
                names = recv.cols[1] if recv.cols and recv.cols[0] == "lit" else None
                return Val("vector", names=names, raw=recv.raw, line=recv.line)
            if method == "keys":
                return Val("strs", cols=recv.cols) if recv.cols else UNKNOWN
            if method == "get":
                key = string_value(positional(call, 0))
                if key is not None:
                    return Val("field", cols=lit((key,)), names=(key,), raw=recv.raw)
            return UNKNOWN
        if kind in ("path", "str"):
            if method == "joinpath":
                parts = [a.value for a in call.args if a.keyword is None and not a.star]
                return Val("path", path=self._join([recv] + [self.eval(p, scope, o, d + 1) for p in parts]))
            if method in ("resolve", "absolute", "expanduser"):
                return recv
            if method == "open":
                return Val("handle", path=recv.path)
            return UNKNOWN
        if kind == "unknown" and method in ("model_dump", "dict") and not call.args:
            return Val("row", raw=True, line=self.line(call))
        return UNKNOWN

    def _frame(self, call, scope, o, d) -> Val:
        cols_kw = keyword(call, "columns")
        first = positional(call, 0) or keyword(call, "data")
        v0 = self.eval(first, scope, o, d + 1) if first is not None else Val("none", raw=True)
        raw = v0.raw if first is not None else True
        if cols_kw is not None:
            names = self.strs(cols_kw, scope, o, d)
            return Val("frame", cols=names, raw=raw, line=self.line(cols_kw))
        if v0.kind in ("records", "row", "frame"):
            return Val("frame", cols=v0.cols, raw=v0.raw, line=v0.line, loose=v0.loose)
        if v0.kind == "param":
            return Val("frame", raw=True)
        return Val("frame", raw=raw if v0.kind in ("rows2d", "array", "vector") else None)

    def _as_array(self, v: Val, call) -> Val:
        if v.kind == "rows2d":
            return Val("array", cols=v.cols, names=v.names, raw=v.raw, line=v.line or self.line(call))
        if v.kind == "vector":
            return Val("vector", cols=v.cols, names=v.names, raw=v.raw, line=v.line or self.line(call))
        if v.kind == "frame":
            return Val("array", cols=None if v.loose else v.cols, raw=v.raw, line=v.line)
        if v.kind == "array":
            return v
        return Val("array", raw=v.raw if v.kind in ("records",) else None)

    # literals
    def _sequence(self, e, scope, o, d) -> Val:
        elements = list(e.elements)
        names = self._strs_list(elements, scope, o, d)
        if names is not None:
            return Val("strs", cols=names, line=self.line(e))
        if not elements:
            return Val("strs", cols=lit(()))
        first = elements[0]
        if isinstance(first, cst.StarredElement):
            return UNKNOWN
        if all(isinstance(el.value, (cst.List, cst.Tuple)) for el in elements):
            inner = list(first.value.elements)
            return Val("rows2d", names=self._element_names(inner, scope, o, d), raw=True, line=self.line(e))
        v0 = self.eval(first.value, scope, o, d + 1)
        if len(elements) == 1 and v0.kind == "vector":
            return Val("rows2d", cols=v0.cols, names=v0.names, raw=v0.raw, line=v0.line)
        if v0.kind in ("row",):
            return Val("records", cols=v0.cols, raw=v0.raw, line=v0.line, loose=v0.loose)
        if v0.kind in ("field", "unknown", "param"):
            return Val("vector", names=self._element_names(elements, scope, o, d), raw=True, line=self.line(e))
        return UNKNOWN

    def _comprehension_columns(self, comp, key, scope, o, d, item: bool = False):
        """`{f: payload[f] for f in FEATURES}` (the keys) and `[payload[f] for f in FEATURES]` (the
        values, in order): the feature list the comprehension walks."""
        for_in = comp.for_in
        if for_in.inner_for_in is not None or for_in.ifs or not isinstance(for_in.target, cst.Name):
            return None
        var = for_in.target.value
        if item:
            el = key
            for _ in range(3):
                if isinstance(el, cst.Call) and len(el.args) == 1 and isinstance(el.func, cst.Name) \
                        and el.func.value in SCALAR_CASTS:
                    el = el.args[0].value
                else:
                    break
            uses = (isinstance(el, cst.Subscript) and len(el.slice) == 1 and isinstance(el.slice[0].slice, cst.Index)
                    and isinstance(el.slice[0].slice.value, cst.Name) and el.slice[0].slice.value.value == var) or (
                isinstance(el, cst.Call) and isinstance(el.func, (cst.Attribute, cst.Name))
                and (dotted(el.func) or "").rsplit(".", 1)[-1] in ("get", "getattr")
                and any(isinstance(a.value, cst.Name) and a.value.value == var for a in el.args))
            if not uses:
                return None
        elif not (isinstance(key, cst.Name) and key.value == var):
            return None
        return self.strs(for_in.iter, scope, o, d)

    def _element_names(self, elements, scope, o, d) -> tuple | None:
        """Names of the elements of a row literal, or None when its length is not certain: a single
        element may itself be a list (`[payload.features]`), and a starred element, a comprehension or
        an element holding a list or array hides how many values there are."""
        if len(elements) < 2:
            return None
        for el in elements:
            if isinstance(el, cst.StarredElement) or isinstance(el.value, (
                    cst.ListComp, cst.GeneratorExp, cst.List, cst.Tuple, cst.Dict, cst.SetComp)):
                return None
            v = self.eval(el.value, scope, o, d + 1)
            if v.kind not in ("field", "unknown", "param", "str"):
                return None
        return tuple(self._element_name(el.value, scope, o, d) for el in elements)

    def _strs_list(self, elements, scope, o, d):
        parts = []
        for el in elements:
            if isinstance(el, cst.StarredElement):
                v = self.eval(el.value, scope, o, d + 1)
                if v.kind in ("strs", "ref") and v.cols is not None:
                    parts.append(v.cols)
                    continue
                return None
            s = string_value(el.value)
            if s is not None:
                parts.append(lit((s,)))
                continue
            if isinstance(el.value, (cst.Name, cst.Attribute)):
                v = self.eval(el.value, scope, o, d + 1)
                if v.kind == "str" and v.cols is not None:
                    parts.append(v.cols)
                    continue
                if v.kind == "ref":
                    parts.append(("one", v.cols[1]))
                    continue
            return None
        if not parts:
            return None
        return merge_specs(parts)

    def _dict(self, e: cst.Dict, scope, o, d) -> Val:
        parts = []
        ok = True
        for el in e.elements:
            if isinstance(el, cst.DictElement):
                key = string_value(el.key)
                if key is None:
                    kv = self.eval(el.key, scope, o, d + 1)
                    if kv.kind == "str" and kv.cols is not None:
                        parts.append(kv.cols)
                        continue
                    if kv.kind == "ref":
                        parts.append(("one", kv.cols[1]))
                        continue
                    ok = False
                    continue
                parts.append(lit((key,)))
            else:
                v = self.eval(el.value, scope, o, d + 1)
                if v.kind == "row" and v.cols is not None:
                    parts.append(v.cols)
                else:
                    ok = False
        cols = merge_specs(parts) if ok else None
        return Val("row", cols=cols, raw=True, line=self.line(e))

    def _binary(self, e: cst.BinaryOperation, scope, o, d) -> Val:
        left = self.eval(e.left, scope, o, d + 1)
        right = self.eval(e.right, scope, o, d + 1)
        if isinstance(e.operator, cst.Add):
            return self._add_values(left, right)
        if isinstance(e.operator, cst.Divide) and left.kind in ("path", "str", "ref") \
                and right.kind in ("path", "str", "ref", "unknown"):
            return Val("path", path=self._join([left, right]))
        if left.kind in DATA_KINDS:
            return Val(left.kind, cols=left.cols, raw=False, line=left.line)
        if right.kind in DATA_KINDS:
            return Val(right.kind, cols=right.cols, raw=False, line=right.line)
        return UNKNOWN

    def _add_values(self, left: Val, right: Val) -> Val:
        if left.kind in ("strs", "ref") and right.kind in ("strs", "ref") and "strs" in (left.kind, right.kind):
            return Val("strs", cols=("cat", left.cols, right.cols), line=left.line or right.line)
        if left.kind in ("str", "path", "ref") and right.kind in ("str", "path", "ref") \
                and "ref" not in (left.kind, right.kind):
            return Val("str", path=(left.path or (("?",),)) + (right.path or (("?",),)), raw=True)
        if left.kind == "ref" and right.kind == "ref":
            return Val("ref", cols=("cat", left.cols, right.cols), path=left.path + right.path)
        if left.kind == "ref" and right.kind == "str" or left.kind == "str" and right.kind == "ref":
            return Val("str", path=left.path + right.path, raw=True)
        if left.kind in DATA_KINDS:
            return Val(left.kind, cols=left.cols, raw=False, line=left.line)
        return UNKNOWN

    def _join(self, values: list[Val]) -> tuple:
        out: list = []
        for i, v in enumerate(values):
            if i:
                out.append(("s", "/"))
            if v.kind in ("str", "path", "ref") and v.path is not None:
                out.extend(v.path)
            else:
                out.append(("?",))
        return tuple(out)

    def _fstring_pieces(self, e, scope, o, d) -> tuple:
        if isinstance(e, cst.ConcatenatedString):
            return self._fstring_pieces(e.left, scope, o, d) + self._fstring_pieces(e.right, scope, o, d)
        s = string_value(e)
        if s is not None:
            return (("s", s),)
        out: list = []
        if isinstance(e, cst.FormattedString):
            for part in e.parts:
                if isinstance(part, cst.FormattedStringText):
                    out.append(("s", part.value))
                elif isinstance(part, cst.FormattedStringExpression):
                    v = self.eval(part.expression, scope, o, d + 1)
                    if v.kind in ("str", "path", "ref") and v.path is not None and part.format_spec is None:
                        out.extend(v.path)
                    else:
                        out.append(("?",))
        return tuple(out) or (("?",),)

    def _element_name(self, el, scope, o, d) -> str | None:
        """The feature an array element stands for: `p.age`, `payload["age"]`, `float(p.age)`, `age`."""
        for _ in range(4):
            if isinstance(el, cst.Call) and len(el.args) == 1 and el.args[0].keyword is None \
                    and not el.args[0].star:
                fname = el.func.value if isinstance(el.func, cst.Name) else None
                q = self.idx.call_name(el, scope)
                if fname in SCALAR_CASTS or (q or "").startswith("numpy."):
                    el = el.args[0].value
                    continue
            break
        if isinstance(el, cst.Attribute):
            return el.attr.value
        if isinstance(el, cst.Subscript) and len(el.slice) == 1 and isinstance(el.slice[0].slice, cst.Index):
            return string_value(el.slice[0].slice.value)
        if isinstance(el, cst.Call) and isinstance(el.func, cst.Attribute) and el.func.attr.value == "get":
            return string_value(positional(el, 0))
        if isinstance(el, cst.Name):
            v = self.eval(el, scope, o, d + 1)
            if v.kind == "field" and v.names:
                return v.names[0]
            return el.value
        return None

    # helpers
    def strs(self, expr, scope, o, d: int = 0):
        """The column-name spec of an expression that names columns (a list, a constant, a string)."""
        if expr is None:
            return None
        v = self.eval(expr, scope, o, d + 1)
        if v.kind in ("strs", "str", "ref") and v.cols is not None:
            return v.cols
        return None

    def _drop_names(self, call, scope, o, d):
        cols = keyword(call, "columns")
        if cols is not None:
            return self.strs(cols, scope, o, d)
        labels = keyword(call, "labels") or positional(call, 0)
        if labels is not None and axis_columns(call):
            return self.strs(labels, scope, o, d)
        return None

    def binding_expr(self, name: str, scope, o: int):
        """The expression last bound to `name` before ordinal `o` (this scope, else the module)."""
        for s in (scope, self.idx.module_scope):
            entries = self.binds.get(id(s), {}).get(name, [])
            for eo, op in reversed(entries):
                if eo < (o if s is scope else INF) and op[0] == "expr":
                    return op[1], s, eo
                if eo < (o if s is scope else INF) and op[0] in DEFINING:
                    return None
        return None
