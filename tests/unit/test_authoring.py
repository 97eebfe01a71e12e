"""What a plan or inventory author meets: durations, every schema error at once with its
file, line and field, one report per typo."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nr_apply.plan import Phase


@pytest.mark.parametrize("text,seconds", [("2m30s", 150), ("1h15m", 4500), ("90", 90), ("1.5s", 1.5),
                                          ("250ms", 0.25), ("5m", 300), ("1h 30m", 5400)])
def test_durations_accept_compound_forms(text, seconds):
    assert Phase(name="p", targets={}, soak=text).soak == seconds


@pytest.mark.parametrize("text", ["30x", "s30", "30s2m", "1m1m", "", "m"])
def test_bad_durations_are_refused_with_the_forms_that_work(text):
    with pytest.raises(ValidationError, match="like 30s, 5m, 1h or 2m30s"):
        Phase(name="p", targets={}, soak=text)
