"""How the dataflow walk evaluates calls (`dataflow.py`): library functions and constructors by their
concept, methods of fitted objects and of data, the events they record (fits, splits, applications,
cross-validation, validation data, scores), and the summaries of the project's own functions."""

from __future__ import annotations

from dataclasses import replace

import libcst as cst

from mllint_deploy.analysis.calls import is_false, keyword, positional, returns_of, string_value
from mllint_deploy.analysis.names import dotted
from mllint_deploy.analysis.requests import NOT_HANDLED, names_in, real_input, tainted
from mllint_deploy.analysis.values import (
    Apply, CrossVal, Data, Fit, FoldSplit, Index, Obj, ParamSource, Score, ScoreList, Selection, Seq, Split, Stat,
    ValidationUse, fresh_root,
)
from mllint_deploy.analysis.flowsupport import (
    FALSY, SELECT_FUNCS, SELECT_METHODS, FunctionSummary, SplitOutputs, axis_is_columns, drop_columns,
    drop_columns_of, has_words, row_wise_here, scores_in, selects_columns, truthy,
)


# methods that change the values themselves (not only which rows or columns are kept)
ALTERING_METHODS = frozenset({"lower", "upper", "strip", "lstrip", "rstrip", "replace", "title", "capitalize",
                              "casefold", "map", "apply", "applymap", "transform", "clip", "round", "abs",
                              "astype", "fillna"})


# what makes validation data steer training: early stopping, best-model checkpoints, LR schedules
_STEERING_KEYWORDS = frozenset({"early_stopping_rounds", "early_stopping", "callbacks", "use_best_model",
                                "n_iter_no_change", "early_stopping_round"})
_NOT_FOLLOWED = object()
_STEERING_CALLBACKS = ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "early_stopping")


class CallTransfer:
    """The call half of `ScopeWalker` (a mixin over the walker's environment and flow)."""

    # ------------------------------------------------------------------ calls
    def _e_Call(self, call: cst.Call):
        qn = self.idx.call_name(call, self.scope)
        handled = self._request_call(call, qn)
        if handled is not NOT_HANDLED:
            return handled
        self._last_args = None
        value = self._call(call, qn)
        args = self._last_args
        self._after_call(call, qn, args)
        self._objective_search(call, qn)
        return self._carry_input(value, call, args)

    def _call(self, call: cst.Call, qn: str | None):
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            method = self.book.method(self.scope.node, func.attr.value)
            if method is not None:
                summary = self._summary(self.book, method, call, is_method=True)
                if summary is not None:
                    return self._apply_summary(call, summary, self._args(call))
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) \
                and func.value.value in self.book.module.classes and func.value.value not in self.env:
            value = self._class_function(call, func.value.value, func.attr.value)
            if value is not _NOT_FOLLOWED:
                return value
        if qn is None and isinstance(func, cst.Attribute):
            recv = self._eval(func.value)
            args = self._args(call)
            return self._method(call, recv, self.k.concepts.method(func.attr.value), args, func.value)
        args = self._args(call)
        if qn is not None:
            return self._library_call(call, qn, args)
        if isinstance(func, cst.Name):
            return self._plain_call(call, func.value, args)
        return None

    def _args(self, call: cst.Call) -> tuple[list, dict]:
        pos, kw = [], {}
        for a in call.args:
            v = self._eval(a.value)
            if a.keyword is not None:
                kw[a.keyword.value] = v
            elif not a.star:
                pos.append(v)
            elif a.star == "**" and isinstance(a.value, cst.Name) and a.value.value in self.keyword_dicts:
                for key, value in self.keyword_dicts[a.value.value].items():
                    kw.setdefault(key, value)  # `fit(X, y, **fit_params)` with a dict the scope wrote out
            elif v is not None:  # `f(*rows)`, `Model(**payload)`: still what the call is given
                kw[f"*{len(kw)}"] = v
        self._last_args = (pos, kw)
        return pos, kw

    def _arg(self, args, index: int | None, name: str | None):
        pos, kw = args
        if name and name in kw:
            return kw[name]
        if index is not None and index < len(pos):
            return pos[index]
        return None

    # -- library calls ----------------------------------------------------------------------
    def _library_call(self, call: cst.Call, qn: str, args):
        k = self.k
        summary = self._project_function(call, qn)
        if summary is not None:
            return self._apply_summary(call, summary, args)
        short = qn.rsplit(".", 1)[-1]
        scores = scores_in(args)
        if scores:
            if short in SELECT_FUNCS:
                self.flow.selections.append(Selection(node=call, scores=scores))
                return None
            return ScoreList(scores)
        if any(name in k.validation_keywords for name in args[1]):
            self._validation_keywords(call, args)
        if qn in k.data_readers:
            first = positional(call, 0) or keyword(call, "filepath_or_buffer") or keyword(call, "path") \
                or keyword(call, "fname") or keyword(call, "file")
            fname = self._path_words(first)
            d = self._new_data("", call, "file", file_name=fname)
            if fname and has_words(fname.rsplit(".", 1)[0], k.test_words):
                d.test_hint = True
            pd_kw = keyword(call, "parse_dates")
            if pd_kw is not None and not (isinstance(pd_kw, cst.Name) and pd_kw.value in FALSY) and not (
                    isinstance(pd_kw, (cst.List, cst.Tuple)) and not pd_kw.elements):
                d.time_ordered = True
            usecols = self._strings_of(keyword(call, "usecols")) if keyword(call, "usecols") is not None else None
            d.columns = ("only", tuple(usecols)) if usecols else ("all", frozenset())
            return d
        if qn in k.split_functions:
            arrays = self._datas(Seq(args[0]))
            concept = k.concepts.concept(qn)
            if concept is not None and concept.arrays and len(arrays) < len(args[0]) and all(
                    isinstance(a, (Data, type(None))) for a in args[0]):
                # `train_test_split(X, y)` with `y = np.array([0] * n + [1] * m)` the walk does not track:
                # every array still gets its train and test part, so `X_train` stays the train part
                unknown = self._new_data("", call, "call")
                arrays = [a if isinstance(a, Data) else unknown for a in args[0]]
            return self._split(call, short, arrays, shuffled=not is_false(keyword(call, "shuffle")))
        if qn in k.splitters:
            when = k.splitters[qn]
            shuffle = when == "always" or (when == "when-shuffle-true" and truthy(keyword(call, "shuffle")))
            return Obj(label=short, qualname=qn, kind="splitter", node=call, shuffle=shuffle)
        if qn in k.kind_of:
            kind = k.kind_of[qn]
            if row_wise_here(k.concepts.names[qn], call):
                kind = "row_wise"  # `Imputer(axis=1)`: filled each row from its own values
            obj = Obj(label=short, qualname=qn, kind=kind, node=call)
            if kind == "search":
                obj.fits = []
                self._pending_cv[id(obj)] = args[1].get("cv")
            if kind == "pipeline":
                obj.selects_columns = selects_columns(args)
                if not self._pipeline_learns(call):
                    obj.kind = "row_wise"  # every step works row by row: nothing is learnt from the rows
            return obj
        if qn in k.fitting_functions:
            data = self._arg(args, 0, "X")
            data = data if isinstance(data, Data) else None
            fit = self._record_fit(call, f"{short}()", "function", short, data, None, None)
            if data is None:
                return None
            out = self._derive([data], call, extra_via=[fit])
            return out
        if qn in k.resampling_functions:
            return self._resampled(call, short, args)
        if qn in k.column_statistic_functions:
            data = self._arg(args, 0, "a")
            if isinstance(data, Data) and axis_is_columns(call):
                return Stat(data=data, node=call, label=short)
            return None
        if qn in k.row_wise_functions or qn in k.data_wrappers:
            datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
            if not datas:
                return None
            out = self._derive(datas, call)
            out.altered = out.altered or qn in k.row_wise_functions  # np.log1p, np.clip ...
            return out
        if qn in k.combine_functions:
            datas = self._datas(Seq(args[0]))
            return self._derive(datas, call, keep_columns=False) if datas else None
        if qn in k.cross_validation_functions:
            data = self._arg(args, 1, "X")
            self._cross_val(call, short, data, args[1].get("cv"))
            return None
        if qn in k.datetime_constructors:
            return self._new_data("", call, "call", time_ordered=True)
        if qn.startswith(k.metric_prefixes):
            return self._score(call, args)
        datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
        if short[:1].isupper() and qn.split(".")[0] in k.ml_roots:
            return Obj(label=short, qualname=qn, kind="estimator", node=call, tuned_in=self._tuning_loop(call, qn))
        if datas:
            return self._opaque_result(datas, call)
        return self._new_data("", call, "call")

    def _pipeline_learns(self, call: cst.Call) -> bool:
        """Whether any step of `Pipeline([...])` / `make_pipeline(...)` learns from the rows it is fitted on:
        a library step by its concept, a project class by whether its own `fit` does more than
        `return self`; a step the walk cannot see counts as learning."""
        steps = []
        for a in call.args:
            if a.keyword is not None and a.keyword.value not in ("steps",):
                continue
            v = a.value
            if isinstance(v, (cst.List, cst.Tuple)):  # [("scale", StandardScaler()), ...]
                for el in v.elements:
                    step = el.value
                    if isinstance(step, cst.Tuple) and len(step.elements) >= 2:
                        steps.append(step.elements[1].value)
                    else:
                        return True
            else:
                steps.append(v)  # make_pipeline(StandardScaler(), ...)
        if not steps:
            return True
        return any(self._step_learns(step) for step in steps)

    def _step_learns(self, step) -> bool:
        if isinstance(step, cst.SimpleString) or (isinstance(step, cst.Name) and step.value == "None"):
            return False  # "passthrough", "drop", None
        if isinstance(step, cst.Name) and isinstance(self.env.get(step.value), Obj):
            return self.env[step.value].learns_from_rows
        if not isinstance(step, cst.Call):
            return True
        qn = self.idx.call_name(step, self.scope)
        if qn is not None and qn in self.k.kind_of:
            return self.k.kind_of[qn] not in ("row_wise", "label")
        name = dotted(step.func)
        if qn is None and name in self.book.module.classes:
            functions = self.book.module.functions
            fit, transform = functions.get(f"{name}.fit"), functions.get(f"{name}.transform")
            if fit is not None and f"{name}.fit_transform" not in functions and _returns_self_only(fit):
                # `fit` learns nothing; `transform` may still fit on what it is given (a SimpleImputer inside)
                return transform is None or _fits_inside(transform, self.k.fit_methods | self.k.column_statistics)
        return True

    def _tuning_loop(self, call: cst.Call, qn: str) -> int | None:
        """The innermost loop whose variable sets a parameter of this model (`KNN(n_neighbors=k)` in
        `for k in range(1, 30)`); a seed parameter is not tuning."""
        if not self._loop_names:
            return None
        concept = self.k.concepts.concept(qn)
        seeds = {"random_state", "seed", "random_seed", concept.seed if concept else None}
        used = set()
        for a in call.args:
            if a.keyword is not None and a.keyword.value in seeds:
                continue
            used |= names_in(a.value)
        for loop, names in reversed(self._loop_names):
            if names & used:
                return loop
        return None

    def _test_path_argument(self, call: cst.Call) -> bool:
        """`load(HOLDOUT_CSV)`: a helper given a file path whose name says test/holdout."""
        for a in call.args:
            name = self._path_words(a.value)
            if name and "." in name and has_words(name.rsplit(".", 1)[0], self.k.test_words):
                return True
        return False

    def _opaque_result(self, datas: list[Data], call) -> Data:
        """What a function we cannot see into returns from these arguments: rows derived from them, of
        unknown origin when the arguments themselves are (so `test = load(cfg.path)` may say test)."""
        out = self._derive(datas, call, keep_columns=False)
        if all(d.origin in ("param", "unknown", "call") for d in datas):
            out.origin = "call"
        return out

    def _plain_call(self, call: cst.Call, name: str, args):
        fn = self.book.local(name)
        found = (self.book, fn) if fn is not None else next(
            (f for f in map(self.book.foreign, self.book.star_candidates(name)) if f is not None), None)
        if found is not None:  # a function of this module, or of a module imported with `*`
            summary = self._summary(*found, call)
            if summary is not None:
                return self._apply_summary(call, summary, args)
        datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
        if name in SELECT_FUNCS:
            scores = scores_in(args)
            if scores:
                self.flow.selections.append(Selection(node=call, scores=scores))
            return None
        if name in ("len", "print", "isinstance", "type", "range", "enumerate", "zip", "str", "repr", "hash", "id",
                    "open", "dict", "set", "sum", "any", "all", "round", "abs", "int", "float", "bool"):
            if name in ("zip", "enumerate") and args[0]:
                return Seq([a for a in args[0]])
            if name in ("float", "round", "abs") and args[0] and isinstance(args[0][0], Score):
                return args[0][0]
            if name in ("int", "float", "round") and args[0] and isinstance(args[0][0], Stat):
                return args[0][0]  # `int(df["bmi"].mean())` is still the column's mean
            value = self._value_of_builtin(name, args)
            if value is None and name in ("str", "repr", "dict", "set", "int", "float", "round", "abs"):
                value = self._rows_through(args[0], call)
            return value
        if name in ("list", "tuple") and args[0]:
            return args[0][0]
        if datas:
            return self._opaque_result(datas, call)
        if name in self.env and isinstance(self.env[name], Obj):
            return None
        return self._new_data("", call, "call")

    # -- methods ---------------------------------------------------------------------------
    def _method(self, call: cst.Call, recv, method: str, args, recv_node):
        k = self.k
        # a project class's own methods are followed; its estimator API (fit, transform, predict ...)
        # keeps the object model below, which knows what fitting and applying mean
        found = None if method in k.fit_methods or method in k.apply_methods else self._instance_method(recv_node, call)
        if found is not None:
            summary = self._summary(*found, call, is_method=True)
            if summary is not None:
                return self._apply_summary(call, summary, args)
        if recv is None and method in ("join", "format") and isinstance(
                recv_node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return self._rows_through([*args[0], *args[1].values()], call)  # `' '.join(row)`: the row's text
        if isinstance(recv, ScoreList):
            if method == "append" and args[0]:
                recv.scores.extend(scores_in(args))
                return None
            if method in SELECT_METHODS:
                self.flow.selections.append(Selection(node=call, scores=list(recv.scores)))
            return recv
        if method == "append" and isinstance(recv_node, cst.Name) and args[0]:
            scores = scores_in(args)
            if scores:
                self.env[recv_node.value] = ScoreList(scores)
                return None
        if method in ("append", "extend") and isinstance(recv, Seq) and isinstance(recv_node, cst.Name):
            datas = self._datas(Seq(list(args[0])))
            if datas:  # `x_test = []` then `x_test.append(test_data[i])`: the list holds those rows
                collected = self._derive(datas, call, keep_columns=False)
                collected.name = recv_node.value
                self.env[recv_node.value] = collected
            return None
        if isinstance(recv, Data) and (method in k.fit_methods or method in k.apply_methods):
            # a method of an object the walk could not type (a parameter, a model from a helper)
            name = dotted(recv_node) or ""
            if recv.origin in ("param", "unknown", "call") and recv.predictions_of is None:
                obj = self._unknown_objs.get(name)
                if obj is None:
                    obj = Obj(label=name or "the model", qualname=None, kind="unknown", node=recv_node, name=name)
                    self._unknown_objs[name] = obj
                if name:
                    self.env[name] = obj
                recv = obj
        if isinstance(recv, Obj):
            return self._obj_method(call, recv, method, args)
        if isinstance(recv, Data):
            return self._data_method(call, recv, method, args)
        if isinstance(recv, Seq) and method == "split":
            return None
        return None

    def _obj_method(self, call: cst.Call, obj: Obj, method: str, args):
        k = self.k
        if method in k.fit_methods:
            data = self._arg(args, 0, "X") or self._arg(args, 0, "x")
            target = self._arg(args, 1, "y")
            data = data if isinstance(data, Data) else (self._datas(data)[0] if self._datas(data) else None)
            target = target if isinstance(target, Data) else None
            if obj.kind == "search":
                cv = self._pending_cv.get(id(obj))
                self._cross_val(call, f"{obj.label}.fit", data, cv)
            kind = obj.kind
            if kind == "unknown" and method in ("fit_transform", "fit_resample", "fit_on_texts", "adapt"):
                kind = "transformer"  # a project class with fit_transform is a transformer
            if kind == "pipeline" and method == "fit_transform":
                kind = "transformer"  # a preprocessing-only pipeline learns like its steps
            fit = self._record_fit(call, obj.label, kind, method, data, target, obj)
            self._validation_keywords(call, args, obj)
            if method in ("fit_transform", "fit_predict"):
                if data is None:
                    return None
                keep = obj.kind in ("transformer", "row_wise", "label", "pipeline")
                out = self._derive([data], call, keep_columns=keep,
                                   extra_via=[fit] if obj.learns_from_rows or obj.kind == "unknown" else [])
                if method == "fit_predict":
                    out.predictions_of = obj
                return out
            if method == "fit_resample":
                if data is None:
                    return None
                x_out = self._derive([data], call, extra_via=[fit])
                y_out = self._derive([target], call, extra_via=[fit]) if target is not None else None
                return Seq([x_out, y_out])
            return obj
        if method == "split" and obj.kind == "splitter":
            data = self._arg(args, 0, "X")
            data = data if isinstance(data, Data) else None
            self.flow.fold_splits.append(FoldSplit(index=self._next(), node=call, splitter=obj, data=data))
            roots = data.roots if data is not None else frozenset({fresh_root()})
            return Seq([Seq([Index(roots, "train"), Index(roots, "test")])])
        if method in k.apply_methods:
            data = self._arg(args, 0, "X")
            data = data if isinstance(data, Data) else (self._datas(data)[0] if self._datas(data) else None)
            self.flow.applies.append(Apply(index=self._next(), node=call, obj=obj, method=method, data=data,
                                           loops=tuple(self._loops)))
            if method == "score":
                score = Score(node=call, on_test=data is not None and self._is_test(data), loops=tuple(self._loops),
                              model=obj, roots=data.roots if data is not None else frozenset())
                self.flow.scores.append(score)
                return score
            if data is None:
                return None
            if method.startswith("predict") or method == "decision_function":
                out = self._derive([data], call, keep_columns=False)
                out.predictions_of = obj
                return out
            via = list(obj.fits[-1:]) if obj.learns_from_rows and obj.fits else []
            keep = obj.kind in ("transformer", "row_wise", "pipeline")
            return self._derive([data], call, keep_columns=keep, extra_via=via)
        if method in ("set_params", "set_output"):
            return obj
        return None

    def _data_method(self, call: cst.Call, recv: Data, method: str, args):
        out = self._data_method_value(call, recv, method, args)
        if method in ALTERING_METHODS and isinstance(out, Data) and out is not recv:
            out.altered = True
        return out

    def _data_method_value(self, call: cst.Call, recv: Data, method: str, args):
        k = self.k
        if method in ("rolling", "expanding", "ewm", "groupby", "resample", "shift", "diff", "pct_change",
                      "cumsum", "cummax", "cummin", "rank"):
            out = self._derive([recv], call, keep_columns=method in ("shift", "diff", "pct_change"))
            out.windowed = method not in ("shift", "diff", "pct_change")
            out.grouped = method == "groupby"
            return out
        if method == "transform" and recv.grouped and string_value(positional(call, 0)) in k.column_statistics:
            # `df.groupby("merchant")["is_fraud"].transform("mean")`: a per-group statistic of every row
            stat = Stat(data=recv, node=call, label=f"group {string_value(positional(call, 0))}")
            return self._derive([recv], call, keep_columns=False, extra_via=[self._stat_fit(stat, call)])
        lambdas = [a.value for a in call.args if isinstance(a.value, cst.Lambda)]
        if lambdas and method in ("assign", "apply", "transform", "pipe", "map", "agg"):
            lambda_fits = []
            for lam in lambdas:  # `df.assign(z=lambda d: (d.x - d.x.mean()) / d.x.std())`
                saved = dict(self.env)
                for p in lam.params.params:
                    self.env[p.name.value] = recv
                result = self._eval(lam.body)
                self.env = saved
                lambda_fits += [f for d in self._datas(Seq([result])) for f in d.via
                                if f.kind == "stat" and f not in recv.via]
            if lambda_fits:
                out = self._derive([recv], call, keep_columns=method != "apply", extra_via=lambda_fits)
                return out
        if method in k.column_statistics:
            if recv.grouped and recv.target is not None and not call.args:
                # `df.groupby("job")["y"].mean()`: one statistic per group, over every row; `map` puts them
                # back into rows (target encoding), otherwise it is a table of its own (daily sales)
                out = self._derive([recv], call, keep_columns=False)
                out.lookup = Stat(data=recv, node=call, label=f"group {method}",
                                  what=f"the per-group {method} of '{recv.target}'")
                return out
            if axis_is_columns(call) and not recv.windowed:
                return Stat(data=recv, node=call, label=method)
            return self._derive([recv], call, keep_columns=False)
        if method == "describe":
            return None
        inplace = truthy(keyword(call, "inplace"))
        stats = [v for v in (list(args[0]) + list(args[1].values())) if isinstance(v, Stat)]
        if method in k.lookup_applying:  # `df["job"].map(job_rate)`: each row gets its group's statistic
            stats += [d.lookup for d in self._datas(Seq(list(args[0]))) if d.lookup is not None]
        stat_fits = [self._stat_fit(st, call) for st in stats if st.data.roots & recv.roots]
        if method == "assign":  # `df.assign(Age=df.Age.fillna(df.Age.median()))`: the new columns' fitted steps
            stat_fits += [f for d in self._datas(Seq(list(args[1].values()))) for f in d.via if f not in recv.via]
        if method == "pop":
            cols = self._strings_of(positional(call, 0))
            if cols:
                recv.columns = drop_columns(recv.columns, cols)
                d = self._derive([recv], call, keep_columns=False)
                d.columns, d.target = ("only", (cols[0],)), cols[0]
                return d
            return None
        out = recv if inplace else self._derive([recv], call, extra_via=stat_fits)
        if recv.lookup is not None and method in k.lookup_keeping and out is not recv:
            out.lookup = recv.lookup  # `.to_dict()`, `.reset_index()`: the same statistics
        if inplace:
            for f in stat_fits:
                recv.via = recv.via + (f,)
                if recv.column_of is not None:  # `df["age"].fillna(df["age"].mean(), inplace=True)`
                    recv.column_of.via = recv.column_of.via + (f,)
        if method == "drop":
            cols = drop_columns_of(call, self)
            if cols:
                out.columns = drop_columns(out.columns, cols)
            elif not inplace:
                out.slice_of = recv
        elif method in ("set_index", "sort_values"):
            col = positional(call, 0) or keyword(call, "keys" if method == "set_index" else "by")
            names = self._strings_of(col) if col is not None else None
            if names and any(has_words(n, k.time_words) for n in names):
                out.time_ordered = True
            if method == "set_index":
                out.columns = drop_columns(out.columns, names or [])
        elif method in ("resample", "asfreq", "to_period", "tz_localize"):
            out.time_ordered = True
        elif method in ("iloc", "pivot", "pivot_table", "groupby", "melt", "merge", "join",
                        "apply", "agg", "aggregate"):
            out.columns = None
        elif method in ("sample", "head", "tail", "query", "nlargest", "nsmallest"):
            out.slice_of = recv
            out.subset = True
        elif method not in ("copy", "fillna", "dropna", "drop_duplicates", "sort_index", "select_dtypes", "astype", "reset_index", "to_numpy", "replace", "rename", "clip",
                            "interpolate", "ffill", "bfill", "round", "abs", "where", "mask", "assign", "reindex",
                            "filter", "to_frame", "squeeze", "ravel", "flatten", "reshape", "tolist", "toarray",
                            "todense", "numpy", "cpu", "detach", "float", "to", "map", "transform"):
            out.columns = None  # an unknown method may add, drop or mix columns
        return None if inplace else out

    # -- events ----------------------------------------------------------------------------
    def _resampled(self, call: cst.Call, short: str, args):
        """`sklearn.utils.resample(df_minority, n_samples=len(df_majority))`: rows drawn with replacement
        (its default) duplicate rows; `replace=False` only picks a subset, which duplicates nothing."""
        datas = self._datas(Seq(args[0]))
        if not datas:
            return None
        if is_false(keyword(call, "replace")):
            return self._derive(datas, call)
        fit = self._record_fit(call, f"{short}()", "resampler", short, datas[0], None, None)
        fit.duplicates = True
        outs = [self._derive([d], call, extra_via=[fit]) for d in datas]
        return outs[0] if len(outs) == 1 else Seq(outs)

    def _record_fit(self, call, label, kind, method, data, target, obj) -> Fit:
        fit = Fit(index=self._next(), node=call, label=label, kind=kind, method=method, data=data, target=target,
                  obj=obj, loops=tuple(self._loops), call=call)
        self.flow.fits.append(fit)
        if obj is not None:
            obj.fits.append(fit)
        for loop in self._loops:
            self.flow.loop_fits.add(loop)
        return fit

    def _validation_keywords(self, call: cst.Call, args, obj=None) -> None:
        for name, value in args[1].items():
            if name in self.k.validation_keywords:
                self.flow.validation_uses.append(
                    ValidationUse(index=self._next(), node=call, keyword=name, data=self._datas(value),
                                  steers=self._steers_training(call, obj)))

    def _steers_training(self, call: cst.Call, obj) -> bool:
        """Whether the validation data decides something (early stopping, best checkpoint, LR schedule):
        read from the fit call, its callbacks and the estimator's constructor. `eval_set=` that only
        records a loss curve steers nothing; where the code does not show (a `**params` it cannot read),
        it may."""
        calls = [call] + ([obj.node] if obj is not None and isinstance(obj.node, cst.Call) else [])
        for c in calls:
            for a in c.args:
                if a.star:
                    keys = self._literal_keys(a.value)
                    if keys is None or keys & _STEERING_KEYWORDS:
                        return True
                elif a.keyword is not None and a.keyword.value in _STEERING_KEYWORDS:
                    if a.keyword.value != "callbacks" or self._steering_callbacks(a.value):
                        return True
        return False

    def _literal_keys(self, expr) -> set[str] | None:
        if isinstance(expr, cst.Name):
            values = self.idx.bound_values(expr.value, self.scope) or []
            expr = values[-1] if values else None
        if isinstance(expr, cst.Dict):
            keys = {string_value(el.key) for el in expr.elements if isinstance(el, cst.DictElement)}
            return None if None in keys else keys
        if isinstance(expr, cst.Call) and dotted(expr.func) == "dict" and not any(a.star for a in expr.args):
            return {a.keyword.value for a in expr.args if a.keyword is not None}
        return None

    def _steering_callbacks(self, expr) -> bool:
        names = set(names_in(expr))
        for name in list(names):
            for value in self.idx.bound_values(name, self.scope) or []:
                names |= names_in(value)
        return any(n.endswith(_STEERING_CALLBACKS) or n in ("early_stopping",) for n in names) or not names

    def _split(self, call, label: str, inputs: list[Data], shuffled: bool, summary_call=None):
        split = Split(index=self._next(), node=call, label=label, inputs=inputs, shuffled=shuffled,
                      summary_call=summary_call)
        self.flow.splits.append(split)
        outputs = []
        for d in inputs:
            test_part = "val" if d.part == "train" else "test"
            for part in ("train", test_part):
                out = self._derive([d], call)
                out.part = part
                out.split = split
                out.test_hint = part == "test"
                outputs.append(out)
        return SplitOutputs(outputs)

    def _cross_val(self, call, label: str, data, cv) -> None:
        data = data if isinstance(data, Data) else None
        self.flow.cross_vals.append(CrossVal(index=self._next(), node=call, label=label, data=data, cv=cv))

    def _score(self, call: cst.Call, args):
        datas = self._datas(Seq(args[0])) + self._datas(Seq(list(args[1].values())))
        on_test = any(self._is_test(d) for d in datas)
        model = next((d.predictions_of for d in datas if d.predictions_of is not None), None)
        score = Score(node=call, on_test=on_test, loops=tuple(self._loops), model=model,
                      roots=frozenset().union(*(d.roots for d in datas)))
        self.flow.scores.append(score)
        return score

    def _is_test(self, d: Data) -> bool:
        return d.part == "test" or (d.part is None and d.test_hint)

    # -- summaries -------------------------------------------------------------------------
    def _summary(self, book, fn: cst.FunctionDef, call: cst.Call, is_method: bool = False):
        """`fn`'s summary specialised on this call's constant arguments (None inside a recursion)."""
        consts = book.constants(fn, call, self.env, is_method or book.method_owner(fn) is not None)
        return book.summary(fn, consts)

    def _class_function(self, call: cst.Call, cls: str, name: str):
        """`Poker.import_dataset(0.05)` on a class of this module: its static or class method is followed
        like a function (a method taking `self` called on the class is not); a function the class does not
        define here (inherited, generated) returns rows of unknown origin, as an unknown function does."""
        if name in self.k.fit_methods or name in self.k.apply_methods:
            return _NOT_FOLLOWED
        fn = self.book.module.functions.get(f"{cls}.{name}")
        if fn is None:
            self._args(call)
            return self._new_data("", call, "call")
        first = fn.params.params[0].name.value if fn.params.params else None
        if first == "self":
            return _NOT_FOLLOWED
        summary = self._summary(self.book, fn, call, is_method=True)
        if summary is None:
            return _NOT_FOLLOWED
        return self._apply_summary(call, summary, self._args(call))

    def _instance_method(self, recv_node, call: cst.Call):
        """`extractor.scale_minmax(X_test)` where every value bound to `extractor` is an instance of one
        project class (of this module or an imported one): that class's method, with its module's book."""
        if not isinstance(recv_node, cst.Name) or not isinstance(call.func, cst.Attribute):
            return None
        values = self.idx.bound_values(recv_node.value, self.scope) or []
        classes = {dotted(v.func) if isinstance(v, cst.Call) else None for v in values}
        if len(classes) != 1 or None in classes:
            return None
        cls = classes.pop()
        method = call.func.attr.value
        if cls in self.book.module.classes:
            fn = self.book.module.functions.get(f"{cls}.{method}")
            return (self.book, fn) if fn is not None else None
        qn = self.idx.qualify(values[-1].func, self.scope)
        if qn is None or self.k.concepts.concept(qn) is not None:
            return None
        return self.book.foreign(f"{qn}.{method}") or self._factory_method(qn, method)

    def _factory_method(self, qn: str, method: str):
        """`service = model.init(...)` then `service.lambda_handler(event)`: a project function whose every
        return is an instance of one class of its module (`return ModelService(...)`, or a name bound to
        one): that class's method."""
        found = self.book.foreign(qn)
        if found is None:
            return None
        book, fn = found
        scope = book.index.scopes.get(fn)
        classes: set[str | None] = set()
        for ret in returns_of(fn):
            value = ret.value
            made = [value] if isinstance(value, cst.Call) else \
                (book.index.bound_values(value.value, scope) or [None]) if isinstance(value, cst.Name) else [None]
            classes |= {dotted(v.func) if isinstance(v, cst.Call) else None for v in made}
        if len(classes) != 1 or None in classes:
            return None
        cls = classes.pop()
        if cls not in book.module.classes:
            return None
        target = book.module.functions.get(f"{cls}.{method}")
        return (book, target) if target is not None else None

    def _project_function(self, call: cst.Call, qn: str):
        """The summary of a function of another project module that `qn` names, if it is one."""
        found = self.book.foreign(qn) if self.k.concepts.concept(qn) is None else None
        return self._summary(*found, call) if found is not None else None

    def _replay_serving(self, call: cst.Call, summary: FunctionSummary, arg_for, param_of) -> None:
        """The callee's model uses and loads, on the caller's arguments and in the caller's context
        (no_grad, lazy, cached); placed at the callee's own lines when it is in this file."""
        local = summary.module is None or summary.module is self.book

        def mapped(datas) -> tuple:
            """The callee's data as the caller passed it: a parameter's input is the argument's (minus what
            the callee validated); the callee's own request input stays."""
            out = []
            for d in datas:
                source = d.raw if isinstance(d.raw, ParamSource) else d.client
                if isinstance(source, ParamSource) and source.index < len(arg_for):
                    args = self._datas(arg_for[source.index])
                    out.extend(args if isinstance(d.raw, ParamSource) else [replace(a, raw=None) for a in args])
                elif real_input(d):
                    out.append(d)
                else:
                    i = param_of(d)
                    if i is not None:
                        out.extend(self._datas(arg_for[i]))
            return tuple(out)

        for u in summary.flow.model_uses:
            evaluated = u.evaluated or (not local and u.torch and u.receiver in summary.module.models.evaluated)
            self.flow.model_uses.append(replace(u, index=self._next(), node=u.node if local else call,
                                                datas=mapped(u.datas), no_grad=u.no_grad or self._no_grad,
                                                evaluated=evaluated))
        for ld in summary.flow.loads:
            datas = mapped(ld.datas)
            self.flow.loads.append(replace(ld, index=self._next(), node=ld.node if local else call, datas=datas,
                                           untrusted=ld.untrusted or any(real_input(d) for d in datas),
                                           lazy=ld.lazy or self._lazy > 0, cached=ld.cached or self._cached,
                                           foreign=ld.foreign or not local))

    def _apply_summary(self, call: cst.Call, summary: FunctionSummary, args):
        """The callee's events replayed at the call, on the caller's arguments, and its return value.

        Fits on a parameter become fits of the argument; fits on data the callee builds itself (reads,
        derives) become fits of what it returns; splits and cross-validation of parameters replay on
        the arguments. Everything replayed is placed at the call: the callee may live in another file."""
        pos, kw = args
        arg_for: list[object] = []
        bound = summary.module is not None and summary.module.method_owner(summary.node) is not None \
            and summary.params[:1] in (["self"], ["cls"])
        for i, p in enumerate(summary.params):
            j = i - 1 if bound else i  # `self.helper(x)`: x is the second parameter
            if p in kw:
                arg_for.append(kw[p])
            elif 0 <= j < len(pos):
                arg_for.append(pos[j])
            else:
                arg_for.append(None)
        where = f"in {summary.node.name.value}()"

        def param_of(d: Data | None) -> int | None:
            if d is None:
                return None
            for i, roots in enumerate(summary.param_roots):
                if d.roots and d.roots <= roots:
                    return i
            return None

        root_map: dict[int, int] = {}

        def inner_roots(roots: frozenset[int]) -> frozenset[int]:
            """The callee's own data gets roots of its own in the caller, shared where they were shared."""
            return frozenset(root_map.setdefault(r, fresh_root()) for r in roots)

        fit_map: dict[int, Fit] = {}
        learners = ("transformer", "selector", "vectorizer", "resampler", "function", "stat")
        # fits of the callee's own data matter to the caller only through what it returns
        returned_via = {id(f) for r in summary.flow.returns for d in self._datas(r if isinstance(r, (Data, Seq))
                                                                                  else None) for f in d.via}
        for f in summary.flow.fits:
            if f.kind not in learners or f.data is None:
                continue
            i = param_of(f.data)
            if i is not None:
                if not isinstance(arg_for[i], Data):
                    continue
                data = arg_for[i]
            elif id(f) in returned_via and not (f.data.roots & frozenset().union(*summary.param_roots)) \
                    and f.data.origin != "param":
                data = replace(f.data, roots=inner_roots(f.data.roots), node=call, via=(), split=None,
                               slice_of=None, column_of=None, predictions_of=None)
            else:
                continue
            new = replace(f, index=self._next(), node=call, label=f"{f.label} ({where})", data=data, call=call,
                          loops=tuple(self._loops), summary_call=call, obj=None, inner=f.inner or i is None)
            self.flow.fits.append(new)
            fit_map[id(f)] = new
        split_outputs = {}
        for s in summary.flow.splits:
            inputs = [arg_for[i] for i in (param_of(d) for d in s.inputs) if i is not None and isinstance(
                arg_for[i], Data)]
            if inputs:
                res = self._split(call, f"{s.label} ({where})", inputs, s.shuffled, summary_call=call)
                split_outputs[id(s)] = res
        for cv in summary.flow.cross_vals:
            i = param_of(cv.data)
            if i is not None and isinstance(arg_for[i], Data):
                self._cross_val(call, f"{cv.label} ({where})", arg_for[i], None)
        self._replay_serving(call, summary, arg_for, param_of)
        if summary.flow.fits:
            self.flow.loop_fits.update(self._loops)  # a helper that fits, called in a loop, fits in that loop

        def replayed_score(v: Score) -> Score:
            """A score the callee returns, at the call: on the test set when the rows it scored are a
            test argument (a parameter's own name says nothing once the call says what it gets)."""
            given = [arg_for[i] for i, roots in enumerate(summary.param_roots)
                     if v.roots & roots and isinstance(arg_for[i], Data)]
            if not given and summary.module is self.book and self.scope is self.idx.module_scope:
                # rows the callee read from module globals: what those names hold here
                given = [self.env[n] for n, roots in summary.free.items()
                         if v.roots & roots and isinstance(self.env.get(n), Data)]
            on_test = any(self._is_test(d) for d in given) if given else v.on_test
            score = Score(node=call, on_test=on_test, loops=tuple(self._loops), model=None,
                          roots=frozenset().union(*(d.roots for d in given)))
            self.flow.scores.append(score)
            return score

        def translate(v):
            if isinstance(v, Score):
                return replayed_score(v)
            if isinstance(v, ScoreList):  # `return {"loss": -acc, "status": STATUS_OK}`
                return ScoreList([replayed_score(s) for s in v.scores])
            if isinstance(v, Seq):
                return Seq([translate(i) for i in v.items])
            if isinstance(v, SplitOutputs):
                return Seq([translate(i) for i in v.items])
            if isinstance(v, Data):
                i = param_of(v)
                base = arg_for[i] if i is not None and isinstance(arg_for[i], Data) else None
                out = self._derive([base] if base is not None else [], call,
                                   extra_via=[fit_map[id(f)] for f in v.via if id(f) in fit_map])
                if v.columns is None or base is None:
                    out.columns = v.columns if v.columns and v.columns[0] == "only" else None
                elif v.columns[0] == "only":
                    out.columns = v.columns
                else:
                    out.columns = drop_columns(base.columns, v.columns[1])
                out.target = v.target
                out.altered = out.altered or v.altered
                if v.part is not None:
                    out.part = v.part
                    if v.split is not None and id(v.split) in split_outputs:
                        out.split = split_outputs[id(v.split)].split
                    out.test_hint = v.part == "test"
                source = v.raw if isinstance(v.raw, ParamSource) else v.client
                if isinstance(source, ParamSource) and source.index < len(arg_for):
                    given = tainted(arg_for[source.index])  # request input the caller passed in
                    if given is not None:
                        out.raw = given.raw if isinstance(v.raw, ParamSource) else None
                        out.client = given.client
                elif real_input(v):
                    out.raw, out.client = v.raw, v.client
                if base is None:
                    out.origin = "call"  # built inside the callee: names at the call still say what it is
                    out.roots = inner_roots(v.roots)
                    out.time_ordered = v.time_ordered
                    out.file_name = v.file_name
                    out.test_hint = out.test_hint or v.test_hint or self._test_path_argument(call)
                return out
            if isinstance(v, Obj):
                # a splitter keeps its own line (where `shuffle=True` is written) when it is in this file;
                # a fitted object is fitted at the call
                local = summary.module is None or summary.module is self.book
                obj = Obj(label=v.label, qualname=v.qualname, kind=v.kind,
                          node=v.node if v.kind == "splitter" and local else call, shuffle=v.shuffle)
                obj.fits = [fit_map[id(f)] for f in v.fits if id(f) in fit_map]
                return obj
            return v

        returned = [r for r in summary.flow.returns if r is not None]
        shuffling = [r for r in returned if isinstance(r, Obj) and r.kind == "splitter" and r.shuffle]
        if returned:
            value = translate(shuffling[0] if shuffling else returned[-1])
            if isinstance(value, Seq):  # `return texts, labels` built from lists: data of unknown origin
                value = Seq([self._new_data("", call, "call") if item is None or (
                    isinstance(item, Seq) and not self._datas(item)) else item for item in value.items])
            return value
        datas = self._datas(Seq(pos)) + self._datas(Seq(list(kw.values())))
        return self._derive(datas, call, keep_columns=False) if datas else self._new_data("", call, "call")


def _returns_self_only(fn: cst.FunctionDef) -> bool:
    """`def fit(self, X, y=None): return self` (a docstring and `pass` allowed): a fit that learns nothing."""
    body = fn.body.body if isinstance(fn.body, cst.IndentedBlock) else []
    for stmt in body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return False
        for small in stmt.body:
            if isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(
                    small.value, (cst.SimpleString, cst.ConcatenatedString))):
                continue
            if isinstance(small, cst.Return) and isinstance(small.value, cst.Name) and small.value.value == "self":
                continue
            return False
    return True


def _fits_inside(fn: cst.FunctionDef, methods) -> bool:
    """Whether a function calls a fitting method or a column statistic (`imputer.fit_transform(X)`,
    `X.fillna(X.mean())`) on what it is given."""
    found = []

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in methods:
                found.append(node)

    fn.visit(_Calls())
    return bool(found)
