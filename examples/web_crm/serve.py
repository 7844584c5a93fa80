"""Start the web CRM example.

    python examples/web_crm/serve.py --db postgresql://postgres@127.0.0.1:5432/test

(``--db sqlite:///web_crm.db`` works too; ``--seed N`` opens N demo cases in an empty
database; ``--port``). Then open http://127.0.0.1:8000/ (``?lang=en`` for English,
``?as=zhao:supervisor`` to act as a supervisor). The JSON API is at /api/..., described at
/docs and /openapi.json.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import uvicorn
from app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite:///web_crm.db")
    parser.add_argument("--schema", default=None, help="PostgreSQL schema for the tables")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=12, help="demo cases for an empty database")
    args = parser.parse_args()
    app = create_app(args.db, seed=args.seed, schema=args.schema)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
