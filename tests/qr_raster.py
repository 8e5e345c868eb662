"""Turn an SVG QR code into pixels and decode it with zxing-cpp.

With `resvg_py` installed (a real SVG renderer, a Rust wheel needing no system library) the SVG is
rasterised by it. Without it, a minimal rasteriser of segno's own SVG output (one stroked path of
`M`/`m`/`h`/`H`/`v`/`V` commands under a `scale()` transform) draws the same served SVG: it refuses
anything else, so it never decodes an SVG it did not understand.
"""

from __future__ import annotations

import importlib
import io
import re
from typing import Any

import numpy as np
import zxingcpp
from PIL import Image

try:  # resvg-py is not (yet) a locked dev dependency: use it where it is installed
    resvg_py: Any = importlib.import_module("resvg_py")
    HAVE_RESVG = True
except ImportError:
    resvg_py = None
    HAVE_RESVG = False

_PATH = re.compile(r'<path\b[^>]*\bd="([^"]+)"')
_SIZE = re.compile(r'<svg\b[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"')
_SCALE = re.compile(r'transform="scale\((\d+(?:\.\d+)?)\)"')
_COMMAND = re.compile(r"([MmHhVv])\s*(-?\d+(?:\.\d+)?)(?:[\s,]+(-?\d+(?:\.\d+)?))?")


def rasterize_with_resvg(svg: str) -> Image.Image:
    png = resvg_py.svg_to_bytes(svg_string=svg, background="#ffffff")
    return Image.open(io.BytesIO(bytes(png))).convert("L")


def rasterize_segno_path(svg: str, *, pixels_per_unit: int = 4) -> Image.Image:
    """Draw the stroked path (stroke width 1 unit, lines centred on y+0.5) of a segno SVG."""
    size, path, scale = _SIZE.search(svg), _PATH.search(svg), _SCALE.search(svg)
    if not (size and path and scale):
        raise ValueError("not a segno QR SVG")
    units = round(int(size.group(1)) / float(scale.group(1)))
    canvas = np.full((units, units), 255, dtype=np.uint8)
    d = path.group(1)
    if _COMMAND.sub("", d).strip():
        raise ValueError(f"unsupported path data: {_COMMAND.sub('', d)[:40]!r}")
    x = y = 0.0
    for command, first, second in _COMMAND.findall(d):
        a = float(first)
        if command in "Mm":
            b = float(second)
            x, y = (a, b) if command == "M" else (x + a, y + b)
        elif command in "Hh":
            end = a if command == "H" else x + a
            row = int(y - 0.5)
            canvas[row, int(min(x, end)) : int(max(x, end))] = 0
            x = end
        else:
            end = a if command == "V" else y + a
            canvas[int(min(y, end)) : int(max(y, end)), int(x - 0.5)] = 0
            y = end
    image = Image.fromarray(canvas)
    return image.resize((units * pixels_per_unit,) * 2, Image.Resampling.NEAREST)


def decode_svg(svg: str) -> list[Any]:
    """Every QR code zxing-cpp finds in the rendered SVG (the real renderer when installed). Only QR codes, as a
    counter's scanner reads them: with every format on, a run of modules now and then also reads as a linear barcode
    (an EAN-13 seen beside a random development token's QR)."""
    image = rasterize_with_resvg(svg) if HAVE_RESVG else rasterize_segno_path(svg)
    return list(zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)))
