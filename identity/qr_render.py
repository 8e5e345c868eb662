"""The identity QR drawn fast: one fixed symbol shape (version 15, error level M, byte mode, one fixed mask).

segno spends most of a render choosing among eight masks (scoring each) and walking the matrix module by module;
a fresh identity token is drawn on every `GET /me/qr`, so that cost is paid per request. With the version and
mask fixed, everything but the data is the same for every token: the function patterns, the format and version
information, the order in which bits are placed and the mask over them are computed once (from segno's own
drawing of the same shape), and a render is the Reed-Solomon code words, one big-integer XOR with the mask and
one gather into the module grid. The result is the QR code segno draws with `version=15, mask=FIXED_MASK`,
module for module and byte for byte in its SVG (the tests compare both); any mask is valid for a reader, and a
token's bytes are close to random, so the mask segno would have scored best gains little over a fixed one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from itertools import zip_longest
from operator import itemgetter

import segno

VERSION = 15
SIZE = 17 + 4 * VERSION  # 77 modules a side
FIXED_MASK = 2  # any of the eight reads; segno picks 2 among the most often for tokens of this length
# ISO/IEC 18004 table 9, version 15 at level M: 5 blocks of 41 data code words and 5 of 42, 24 EC words each.
BLOCKS = (41,) * 5 + (42,) * 5
EC_WORDS = 24
DATA_WORDS = sum(BLOCKS)  # 415
# Byte mode: a 4-bit mode indicator, a 16-bit count (versions 10 to 26), the bytes, a 4-bit terminator.
CAPACITY = DATA_WORDS - 3  # 412 bytes
ALIGNMENT = (6, 26, 48, 70)
REMAINDER_BITS = 3
BORDER = 4
SCALE = 4
_RUN = re.compile("1+")
_GAP_RUN = re.compile("0+1+")
_IN_ROW = {
    "0" * gap + "1" * length: f"m{gap} 0h{length}" for gap in range(1, SIZE) for length in range(1, SIZE - gap + 1)
}


# -- Reed-Solomon over GF(256), polynomial 0x11d -----------------------------------------------------------------------


def _gf_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 512, [0] * 256
    value = 1
    for power in range(255):
        exp[power], log[value] = value, power
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    exp[255:510] = exp[0:255]
    return exp, log


@cache
def _ec_table() -> tuple[int, ...]:
    """For each feedback byte f, f × the generator polynomial (without its leading 1) as one 24-byte integer, so a
    division step is a shift and an XOR of Python integers."""
    exp, log = _gf_tables()
    generator = [1]
    for root in range(EC_WORDS):
        product = [0] * (len(generator) + 1)
        for k, coefficient in enumerate(generator):
            product[k] ^= coefficient
            if coefficient:
                product[k + 1] ^= exp[log[coefficient] + root]
        generator = product
    rows = [0]
    for f in range(1, 256):
        terms = (exp[log[f] + log[g]] if g else 0 for g in generator[1:])
        rows.append(int.from_bytes(bytes(terms), "big"))
    return tuple(rows)


def _ec_words(block: bytes) -> bytes:
    table, shift, keep = _ec_table(), 8 * (EC_WORDS - 1), (1 << (8 * EC_WORDS)) - 1
    remainder = 0
    for byte in block:
        remainder = ((remainder << 8) & keep) ^ table[(remainder >> shift) ^ byte]
    return remainder.to_bytes(EC_WORDS, "big")


# -- the fixed shape, computed once ------------------------------------------------------------------------------------


def _is_function_module(i: int, j: int) -> bool:
    """Finder patterns with their separators and format areas, timing, alignment and version information."""
    last = SIZE - 8
    if (i <= 8 and j <= 8) or (i <= 8 and j >= last) or (i >= last and j <= 8):
        return True
    if i == 6 or j == 6:
        return True
    if (i <= 5 and SIZE - 11 <= j <= SIZE - 9) or (j <= 5 and SIZE - 11 <= i <= SIZE - 9):
        return True
    corners = {(6, 6), (6, ALIGNMENT[-1]), (ALIGNMENT[-1], 6)}
    return any(abs(i - y) <= 2 and abs(j - x) <= 2 for y in ALIGNMENT for x in ALIGNMENT if (y, x) not in corners)


def _placement() -> list[tuple[int, int]]:
    """The data modules in the order bits are placed: two-module columns from the right, alternately up and down,
    stepping over the vertical timing pattern (ISO/IEC 18004, 7.7.3)."""
    order = []
    right, upwards = SIZE - 1, True
    while right > 0:
        if right == 6:
            right -= 1
        rows = range(SIZE - 1, -1, -1) if upwards else range(SIZE)
        for i in rows:
            for j in (right, right - 1):
                if not _is_function_module(i, j):
                    order.append((i, j))
        right, upwards = right - 2, not upwards
    return order


# ISO/IEC 18004 table 10: a data module is inverted where its mask's condition holds (i row, j column).
MASKS: tuple[Callable[[int, int], bool], ...] = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)


@cache
def _shape() -> tuple[Callable[[str], tuple[str, ...]], int, int]:
    """(a gather from "placed bits + '0' + '1'" to the grid in row order, the mask over the placed bits as an
    integer, the number of placed bits). The function modules (finders, timing, alignment, format and version
    information for this mask) are copied from segno's drawing of the same shape."""
    order = _placement()
    placed = len(order)
    reference = segno.make(
        b"", error="m", mode="byte", version=VERSION, mask=FIXED_MASK, boost_error=False, micro=False
    )
    grid = [[int(bool(module)) for module in row] for row in reference.matrix]
    condition = MASKS[FIXED_MASK]
    mask = int("".join("1" if condition(i, j) else "0" for i, j in order), 2)
    index = {position: k for k, position in enumerate(order)}
    gather = [index.get((i, j), placed + grid[i][j]) for i in range(SIZE) for j in range(SIZE)]
    gathered: Callable[[str], tuple[str, ...]] = itemgetter(*gather)
    return gathered, mask, placed


# -- one render --------------------------------------------------------------------------------------------------------


def _data_words(content: bytes) -> bytes:
    n = len(content)
    stream = ((0b0100 << 16 | n) << (8 * n) | int.from_bytes(content, "big")) << 4
    # segno follows the byte-aligned terminator with a zero byte before the pad words; so do we, to draw the very
    # symbol segno draws (a reader stops at the terminator either way).
    words = (stream.to_bytes(n + 3, "big") + b"\x00")[:DATA_WORDS]
    padding = (b"\xec\x11" * DATA_WORDS)[: DATA_WORDS - len(words)]
    return words + padding


def _placed_bits(data: bytes) -> int:
    """The interleaved data and EC code words followed by the remainder bits, as one integer (first bit highest)."""
    blocks, start = [], 0
    for length in BLOCKS:
        blocks.append(data[start : start + length])
        start += length
    interleaved = bytes(b for column in zip_longest(*blocks) for b in column if b is not None)
    ec = [_ec_words(block) for block in blocks]
    interleaved += bytes(b for column in zip(*ec, strict=True) for b in column)
    return int.from_bytes(interleaved, "big") << REMAINDER_BITS


def fits(content: bytes) -> bool:
    return len(content) <= CAPACITY


def matrix_rows(content: bytes) -> list[str]:
    """The symbol's modules, one string of '0'/'1' per row (no quiet zone)."""
    if not fits(content):
        raise ValueError(f"{len(content)} bytes do not fit version {VERSION} at level M ({CAPACITY} at most)")
    gather, mask, placed = _shape()
    bits = format(_placed_bits(_data_words(content)) ^ mask, f"0{placed}b") + "01"
    cells = "".join(gather(bits))
    return [cells[k : k + SIZE] for k in range(0, SIZE * SIZE, SIZE)]


def svg(content: bytes) -> str:
    """The SVG segno writes for this symbol with `scale=4, xmldecl=False, svgns=True, nl=False`: one stroked path,
    each run of dark modules a horizontal line, each move relative to the end of the previous line. Within a row a
    move is "m<gap> 0h<length>", looked up whole by the light-then-dark text it draws."""
    parts: list[str] = []
    last_x = last_row = 0
    for row, line in enumerate(matrix_rows(content)):
        first = _RUN.search(line)
        if first is None:
            continue
        x1, length = BORDER + first.start(), first.end() - first.start()
        if parts:
            parts.append(f"m{x1 - last_x} {row - last_row}h{length}")
        else:
            parts.append(f"M{x1} {BORDER + row + 0.5}h{length}")
        parts.extend(map(_IN_ROW.__getitem__, _GAP_RUN.findall(line, first.end())))
        last_x, last_row = BORDER + len(line.rstrip("0")), row
    side = (SIZE + 2 * BORDER) * SCALE
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{side}" height="{side}" class="segno">'
        f'<path transform="scale({SCALE})" class="qrline" stroke="#000" d="{"".join(parts)}"/></svg>'
    )
