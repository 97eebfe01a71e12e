"""`python -m nr_apply.schemas`: regenerate the shipped JSON Schemas from the models."""

from nr_apply.schemas import write

for path in write():
    print(path)
