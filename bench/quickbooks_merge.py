"""`python -m bench.quickbooks_merge --invoices 1000 10000`: the QuickBooks figures (bench/quickbooks.py),
merged by size into the results.json and BENCHMARKS.md a `make bench` wrote, under `quickbooks.sizes`, each
point stamped with when and how it was measured (`make bench-100k` adds 100,000 this way). A module of its
own because the bench's database must be set up before anything imports Django models."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from bench.env import OUT, setup_django
from bench.run import QUICKBOOKS_TIME_SCALE, ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.quickbooks_merge", description=__doc__)
    parser.add_argument("--invoices", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--time-scale", type=float, default=QUICKBOOKS_TIME_SCALE)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    setup_django(args.out.resolve())
    from django.conf import settings

    from bench import report
    from bench.growth import merge_quickbooks, provenance
    from bench.quickbooks import run_quickbooks

    def quiet(description: str, total: int) -> Any:
        return contextlib.nullcontext(lambda _: None)

    stamp = provenance("bench.quickbooks_merge", sys.argv[1:] if argv is None else argv)
    figures = run_quickbooks(settings, tuple(args.invoices), args.time_scale, quiet)
    sizes = {size: {**point, **stamp} for size, point in figures["sizes"].items()}
    results = merge_quickbooks(json.loads(args.results.read_text()), sizes)
    report.write_json(results, args.results)
    report.write_markdown(results, args.markdown)
    print(json.dumps(results["quickbooks"]["sizes"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
