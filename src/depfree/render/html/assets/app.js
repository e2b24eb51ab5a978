"use strict";
(function () {
  var $ = function (s, r) { return (r || document).querySelector(s); };
  var $$ = function (s, r) { return Array.prototype.slice.call((r || document).querySelectorAll(s)); };
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (kids || []).forEach(function (k) { if (k != null) e.appendChild(typeof k === "string" ? document.createTextNode(k) : k); });
    return e;
  }
  /* the embedded report (gzip, base64), inflated with the browser's DecompressionStream on the first card */
  var DATA = null;
  function data() {
    if (DATA) return DATA;
    var s = $("#report-data");
    if (!s) return (DATA = Promise.resolve({binaries: []}));
    var bin = atob(s.textContent.trim()), bytes = new Uint8Array(bin.length);
    for (var k = 0; k < bin.length; k++) bytes[k] = bin.charCodeAt(k);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return (DATA = new Response(stream).text().then(JSON.parse));
  }
  var MARK = {ok: "✓ ok", warn: "⚠ warn", fail: "✗ fail"};

  /* ---- matrix: sort ---- */
  $$("table.sortable").forEach(function (table) {
    $$("thead th[data-col]", table).forEach(function (th, idx) {
      var b = $("button", th);
      if (!b) return;
      b.addEventListener("click", function () {
        var col = +th.getAttribute("data-col");
        var asc = th.getAttribute("aria-sort") !== "ascending";
        $$("thead th", table).forEach(function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var num = th.classList.contains("num") || th.hasAttribute("data-rank");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, c) {
          var x = a.cells[col].getAttribute("data-v") || a.cells[col].textContent;
          var y = c.cells[col].getAttribute("data-v") || c.cells[col].textContent;
          var r = num ? (+x) - (+y) : x.localeCompare(y);
          return asc ? r : -r;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      });
    });
  });

  /* ---- matrix: filter ---- */
  var filters = $$(".filters [data-filter]");
  function applyFilters() {
    var want = {};
    filters.forEach(function (f) { want[f.getAttribute("data-filter")] = f.value.toLowerCase(); });
    var shown = 0;
    $$("#matrix tbody tr, #sbom tbody tr").forEach(function (tr) {
      var ok = Object.keys(want).every(function (k) {
        var v = want[k];
        if (!v) return true;
        if (k === "text") return (tr.getAttribute("data-path") || "").toLowerCase().indexOf(v) >= 0;
        return (tr.getAttribute("data-" + k) || "").toLowerCase() === v;
      });
      tr.hidden = !ok;
      if (ok) shown++;
    });
    var c = $("#shown"); if (c) c.textContent = shown + " shown";
  }
  filters.forEach(function (f) { f.addEventListener("input", applyFilters); f.addEventListener("change", applyFilters); });

  /* ---- cards: evidence on demand ---- */
  function evidence(list) {
    if (!list || !list.length) return null;
    var d = el("details", {"class": "evidence"}, [el("summary", {text: "evidence (" + list.length + ")"})]);
    var ul = el("ul", {"class": "ev"});
    list.forEach(function (e) {
      ul.appendChild(el("li", null, [el("span", {"class": "muted", text: e.kind + " "}), el("code", {text: e.name}),
        e.detail ? " — " + e.detail : ""]));
    });
    d.appendChild(ul);
    return d;
  }
  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) {
      if (p[1] == null || p[1] === "" || (Array.isArray(p[1]) && !p[1].length)) return;
      d.appendChild(el("dt", {text: p[0]}));
      var v = p[1];
      d.appendChild(el("dd", null, [typeof v === "string" || typeof v === "number" ? String(v) : (Array.isArray(v) ? v.join(", ") : v)].concat(p.slice(2))));
    });
    return d;
  }
  function verdictSpan(v) { return el("span", {"class": "v v-" + v, text: MARK[v] || v}); }
  function card(b) {
    var c = el("article", {"class": "card", "aria-labelledby": "card-title"});
    c.appendChild(el("h2", {id: "card-title", tabindex: "-1", text: b.path + (b.slice ? " [" + b.slice + "]" : "")}));
    c.appendChild(el("p", {text: b.verdict || ""}));
    c.appendChild(dl([["format", b.format + " " + b.type + ", " + b.arch + " (" + b.bits + "-bit " + b.endian + ")"],
      ["os", b.os + (b.min_os ? " ≥ " + b.min_os.version : "")], ["size", b.size.toLocaleString() + " bytes"], ["sha256", b.sha256]]));
    var l = b.linkage || {};
    c.appendChild(el("h3", {text: "Linkage"}));
    c.appendChild(dl([["kind", l.kind], ["interpreter", l.interpreter], ["needed", l.needed], ["libc", l.libc ? l.libc.flavour : null, evidence(l.libc && l.libc.evidence)],
      ["min glibc", l.min_glibc], ["rpath", l.rpath], ["runpath", l.runpath]]));
    (l.versioned || []).forEach(function (r) {
      c.appendChild(el("p", null, [r.family + " ≥ " + r.min_version + " from " + r.library + " ", evidence(r.evidence)]));
    });
    var ev = evidence(l.evidence); if (ev) c.appendChild(ev);
    var r = b.resolution;
    if (r) {
      c.appendChild(el("h3", {text: "Missing from the package or image"}));
      var miss = [];
      if (r.interpreter && !r.interpreter_found) miss.push("interpreter " + r.interpreter);
      (r.missing_libraries || []).forEach(function (x) { miss.push("library " + x); });
      (r.missing_files || []).forEach(function (x) { miss.push("file " + (x.path || x.what || x)); });
      c.appendChild(miss.length ? el("ul", null, miss.map(function (m) { return el("li", {text: "✗ " + m}); }))
        : el("p", {text: "✓ nothing: every interpreter, library and file it needs is inside"}));
    }
    if (b.needs && b.needs.length) {
      c.appendChild(el("h3", {text: r ? "Needs (all; what the package lacks must come from the host)" : "Needs from the host"}));
      var ul = el("ul");
      b.needs.forEach(function (n) {
        ul.appendChild(el("li", null, [el("b", {text: n.kind + " "}), el("code", {text: n.what}), " — " + n.why + (n.required ? "" : " (optional)"),
          n.alternatives && n.alternatives.length ? " or " + n.alternatives.join(", ") : "", evidence(n.evidence)]));
      });
      c.appendChild(ul);
    }
    if (b.go) {
      var g = b.go, s = g.settings || {};
      c.appendChild(el("h3", {text: "Go"}));
      c.appendChild(dl([["version", g.version], ["compiler", g.compiler], ["path", g.path], ["main module", g.main ? g.main.path + " " + g.main.version : null],
        ["cgo", g.cgo == null ? "unknown" : g.cgo ? "yes" : "no", evidence(g.cgo_evidence)], ["dependencies", (g.deps || []).map(function (d) { return d.path + " " + d.version; })],
        ["settings", Object.keys(s).filter(function (k) { return k !== "DefaultGODEBUG"; }).map(function (k) { return k + "=" + s[k]; })],
        ["source", g.source, evidence(g.evidence)]]));
    }
    if (b.hardening) {
      var h = b.hardening, hev = h.evidence || {};
      c.appendChild(el("h3", {text: "Hardening"}));
      var rows = Object.keys(h).filter(function (k) { return ["evidence", "reasons"].indexOf(k) < 0; }).map(function (k) {
        var v = h[k]; var txt = v === true ? "yes" : v === false ? "no" : v == null ? "n/a" : typeof v === "object" ? JSON.stringify(v) : String(v);
        return [k, txt, evidence(hev[k])];
      });
      c.appendChild(dl(rows));
    }
    if (b.targets && b.targets.length) {
      c.appendChild(el("h3", {text: "Targets"}));
      var tu = el("ul");
      b.targets.forEach(function (t) {
        var li = el("li", null, [el("b", {text: t.target + " "}), verdictSpan(t.verdict)]);
        if (t.reasons.length) li.appendChild(el("ul", null, t.reasons.map(function (x) {
          return el("li", null, [x.message, x.fix ? el("div", {"class": "muted", text: "fix: " + x.fix}) : null]);
        })));
        tu.appendChild(li);
      });
      c.appendChild(tu);
    }
    return c;
  }
  function openCard(i) {
    data().then(function (d) {
      var b = d.binaries[i], box = $("#card");
      if (!b) return;
      box.textContent = "";
      box.appendChild(card(b));
      var t = $("#card-title"); t.scrollIntoView({block: "start"}); t.focus();
    }).catch(function (e) { $("#card").textContent = "Could not read the embedded report: " + e; });
  }
  var matrix = $("#matrix");
  if (matrix) {  /* one listener for every binary button (a scan can list thousands) */
    matrix.addEventListener("click", function (e) {
      var bt = e.target.closest ? e.target.closest("button.bin") : null;
      if (bt) openCard(+bt.getAttribute("data-i"));
    });
    /* inflate the embedded report while the reader looks at the matrix, so the first card opens at once */
    var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 200); };
    window.addEventListener("load", function () { idle(function () { data(); }); });
  }

  /* ---- treemap zoom ---- */
  function show(tm, view) {
    $$(".view", tm).forEach(function (v) { v.hidden = v.getAttribute("data-view") !== view; });
    var crumb = $(".crumb", tm), back = $("button.back", tm);
    if (crumb) crumb.textContent = view === "top" ? "all" : "all › " + view;
    if (back) back.disabled = view === "top";
  }
  $$(".treemap").forEach(function (tm) {
    $$("g.zoomable", tm).forEach(function (g) {
      function go() { show(tm, g.getAttribute("data-zoom")); var f = $(".view:not([hidden]) g.node", tm); if (f) f.focus(); }
      g.addEventListener("click", go);
      g.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
    var back = $("button.back", tm);
    function up() { show(tm, "top"); var f = $(".view[data-view=top] g.node", tm); if (f) f.focus(); }
    if (back) back.addEventListener("click", up);
    tm.addEventListener("keydown", function (e) { if (e.key === "Escape") up(); });
  });
})();
