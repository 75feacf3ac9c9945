"""Records: CSV read chunk by chunk, however the chunks fall, with physical line numbers."""

from __future__ import annotations

import csv
import io

import pytest

from sales.records import Records

# CRLF, a lone CR and LF line ends; quoted values holding each of them; a blank line;
# multi-byte characters; a BOM.
TEXT = (
    "\ufeffa,b,c\r\n"
    '1,"two\r\nlines",é\r\n'
    "2,x,y\r"
    '3,"cr\rinside","lf\ninside"\n'
    "\n"
    "4,zoë,€\n"
    '5,"""quoted""",end'
)


def expected(text: str) -> list[tuple[int, list[str]]]:
    """(first line, record) of every record after the header, from the csv module at once."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    next(reader)
    found, line = [], reader.line_num + 1
    for record in reader:
        found.append((line, record))
        line = reader.line_num + 1
    return found


def read(chunks: list[bytes], size: int = 2) -> tuple[list[str], list[tuple[int, list[str]]]]:
    records = Records(chunks)
    header = records.header()
    found = []
    for batch in records.batches(size):
        found += list(zip(batch.lines(), batch.records, strict=True))
        assert not batch.faults
    return header, found


def test_records_and_lines_do_not_depend_on_where_chunks_end() -> None:
    # Given the file cut in two and in three at every pair of places
    data = TEXT.encode()
    want = expected(TEXT)
    assert [line for line, _ in want] == [2, 4, 5, 8, 9, 10]  # line 8 is the blank one
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1, 3):
            # Then the records and their first lines are those of the whole file
            header, found = read([data[:i], data[i:j], data[j:]])
            assert header == ["a", "b", "c"]
            assert found == want, (i, j)


@pytest.mark.parametrize("size", [1, 2, 5, 100])
def test_any_batch_size_gives_the_same_lines(size: int) -> None:
    assert read([TEXT.encode()], size)[1] == expected(TEXT)


def test_plain_stays_true_only_for_ascii_without_nul() -> None:
    ascii_only = Records([b"a,b\n1,2\n"])
    ascii_only.header()
    list(ascii_only.batches(10))
    assert ascii_only.plain
    for body in (b"a,b\n1,\xc3\xa9\n", b"a,b\n1,\x00\n", b"a,b\n1,\xff\n"):
        records = Records([body])
        records.header()
        list(records.batches(10))
        assert not records.plain


def test_a_record_the_csv_module_refuses_is_a_fault_on_its_line() -> None:
    # Given a value longer than the csv module's field limit on line 3
    body = ("h\n" + "ok\n" + '"' + "x" * 200_000 + '"\n' + "after\n").encode()
    records = Records([body])
    records.header()
    batches = list(records.batches(10))
    # Then the rows around it are read and it is one fault, on line 3
    assert [f for b in batches for f in b.faults] == [(3, batches[0].faults[0][1])]
    assert "field larger than field limit" in batches[0].faults[0][1]
    assert [(line, r) for b in batches for line, r in zip(b.lines(), b.records, strict=True)] == [
        (2, ["ok"]),
        (4, ["after"]),
    ]
