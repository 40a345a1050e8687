import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from connector.domain.csvfile import FORMULA_STARTS, csv_bytes
from connector.domain.fba_reconciliation import Line
from connector.domain.fba_reconciliation_report import to_csv

# Text without CR: csv round-trips a lone CR as part of the cell, which is not what is tested here.
TEXT = st.text(st.characters(blacklist_characters="\r\x00", blacklist_categories=("Cs",)), max_size=12)


def read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@given(st.lists(st.tuples(TEXT, st.integers(-1000, 1000)), max_size=20))
def test_no_text_cell_can_start_a_formula_and_numbers_stay_numbers(rows):
    out = read(csv_bytes(["sku", "qty"], rows))
    assert out[0] == ["sku", "qty"]
    for (sku, qty), (got_sku, got_qty) in zip(rows, out[1:], strict=True):
        assert not got_sku.startswith(FORMULA_STARTS)
        # only a dangerous start is touched, and only by one leading quote
        assert got_sku == ("'" + sku if sku.startswith(FORMULA_STARTS) else sku)
        assert got_qty == str(qty)


def test_reconciliation_csv_neutralises_a_hostile_sku():
    hostile = '=HYPERLINK("http://evil.example","click")'
    rows = read(to_csv([Line(sku=hostile, skus=[hostile, "@SUM(A1)"], product_id=5, status="drift",
                             difference=-3)]))
    assert rows[1][0] == "'" + hostile
    assert rows[1][1].startswith("'=HYPERLINK")
    assert rows[1][rows[0].index("difference")] == "-3"  # a number is not a formula
