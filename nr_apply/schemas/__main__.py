"""`python -m nr_apply.schemas`: regenerate the shipped JSON Schemas, and (from a checkout) the
reference documentation in docs/, from the models."""

from pathlib import Path

from nr_apply.schemas import reference, write

for path in write():
    print(path)
docs = Path(__file__).resolve().parents[2] / "docs"
if docs.parent.joinpath("pyproject.toml").is_file():
    for path in reference.write(docs):
        print(path)
