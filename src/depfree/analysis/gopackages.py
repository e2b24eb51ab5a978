"""The analyzer of Go packages and build features, for every gc-built Go binary, stripped or not:
``binary.go.features`` always (analysis/gofeatures.py; values null when the pclntab is unreadable),
``binary.go.packages`` with ``Options.deep`` (``inspect --deep``; analysis/gomodules.py). The tables are read once,
through ``ctx.go`` (analysis/gotables.py)."""

from __future__ import annotations

from depfree.analysis.context import Context
from depfree.analysis.gofeatures import features, gccgo_features, unknown_features
from depfree.model import Evidence, GoPackage


def analyze_gopackages(ctx: Context) -> None:
    go = ctx.binary.go
    if go is None:
        return
    if go.compiler == "gccgo":
        go.features = gccgo_features(ctx)
        if ctx.options.deep:  # no function table: paths and kinds only
            from depfree.analysis.gomodules import module_map

            mm = module_map(go.main, go.deps, go.path)
            go.packages = sorted((GoPackage(p, *mm.classify(p)) for p in ctx.go.package_paths), key=lambda p: p.path)
        return
    if not ctx.go.table_ok:
        why = ctx.go.error or "no pclntab found"
        go.features = unknown_features(Evidence("section", "pclntab", f"unreadable: {why}"))
        return
    go.features = features(ctx)
    if ctx.options.deep:
        go.packages = ctx.go.packages(go)
