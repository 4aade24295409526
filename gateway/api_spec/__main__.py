"""`python -m gateway.api_spec [--check] [--docs DIR]`: write or check the generated docs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.api_spec.render import rendered_docs

DOCS = Path(__file__).resolve().parents[2] / "docs"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway.api_spec")
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date")
    args = parser.parse_args()
    stale = []
    for relative, text in rendered_docs(args.docs).items():
        path = args.docs / relative
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(relative)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for relative in stale:
        print(f"{'out of date' if args.check else 'wrote'}: {args.docs / relative}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
