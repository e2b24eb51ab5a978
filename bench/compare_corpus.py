"""Agreement of depfree with independent tools, fact by fact and peer by peer, over the downloaded corpus of real
third-party binaries (tests/helpers/corpus.py: Debian packages, PyPI wheels, npm packages; downloaded once into
$DEPFREE_CACHE). The peers: readelf, objdump -d, checksec, `go version -m`, debug/gosym, pefile, lief, a Mach-O
load-command walk, GOROOT's sources, Debian's Built-Using and the wheel platform tag (tests/helpers/compare.py).

    python bench/compare_corpus.py [--only NAME ...] [--out FILE] [--details]

A row is "agree", "disagree", or "peer wrong" (the peer is known to be wrong there; the note says why and which
other tool shows it). Exit 1 when there is any disagreement.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from helpers.compare import compare_corpus, summary  # noqa: E402
from helpers.corpus import CORPUS  # noqa: E402
from helpers.factory import Factory  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="*", choices=sorted(CORPUS), help="corpus items to compare (default: all)")
    ap.add_argument("--out", type=Path, help="also write the table (Markdown) to this file")
    ap.add_argument("--details", action="store_true", help="list every row that is not an agreement")
    args = ap.parse_args(argv)
    rows = compare_corpus(Factory(), args.only or None)
    table = summary(rows)
    lines = ["| fact | peer | compared | agree | disagree | peer wrong |", "|---|---|---:|---:|---:|---:|"]
    for (fact, peer), c in sorted(table.items()):
        n = sum(c.values())
        lines.append(f"| {fact} | {peer} | {n} | {c['agree']} | {c['disagree']} | {c['peer-wrong']} |")
    total = {k: sum(c[k] for c in table.values()) for k in ("agree", "disagree", "peer-wrong")}
    items = len({r.item.split(" (")[0] for r in rows})
    lines.append(f"| **all** ({items} binaries) | | {len(rows)} | {total['agree']} | {total['disagree']} | "
                 f"{total['peer-wrong']} |")
    details = [f"- {r.verdict}: {r.item} {r.fact} vs {r.peer}: depfree {r.ours!r}, peer {r.theirs!r}"
               + (f" ({r.note})" if r.note else "") for r in rows if r.verdict != "agree"]
    text = "\n".join(lines) + ("\n\n" + "\n".join(details) if details else "") + "\n"
    print(text if args.details else "\n".join(lines))
    if args.out:
        args.out.write_text(text)
    return 1 if total["disagree"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
