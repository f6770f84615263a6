"""The reports' fonts come with a Python package the lock pins, never from the system.

matplotlib ships DejaVu Sans and DejaVu Sans Mono. The PDF is rendered with those files
(``@font-face`` rules naming each file by a ``dsrip-font:`` URL that only
:func:`font_response` answers, under family names no system font has), and the charts draw with the same family, so a machine with other fonts
installed, or another fontconfig default, produces the same bytes. The manifest records
each file with its SHA-256 (:func:`font_files`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib

_TTF = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
# family used in the PDF -> (CSS weight, CSS style) -> file of matplotlib's DejaVu fonts
FACES = {
    "dsrip-sans": {("normal", "normal"): "DejaVuSans.ttf", ("bold", "normal"): "DejaVuSans-Bold.ttf",
                   ("normal", "italic"): "DejaVuSans-Oblique.ttf", ("bold", "italic"): "DejaVuSans-BoldOblique.ttf"},
    "dsrip-mono": {("normal", "normal"): "DejaVuSansMono.ttf", ("bold", "normal"): "DejaVuSansMono-Bold.ttf"},
}
CHART_FONT = "DejaVu Sans"  # matplotlib's own copy: the bundled fonts come first in its font list


def font_files() -> list[Path]:
    """Every font file a report uses."""
    return [_TTF / name for faces in FACES.values() for name in faces.values()]


FONT_SCHEME = "dsrip-font"


@functools.cache
def pdf_stylesheet() -> str:
    """CSS for the PDF: the packaged faces as ``dsrip-font:`` URLs, and every text set in them.

    Not ``data:`` URLs: WeasyPrint's CSS parser reads a ``data:`` URL character by character,
    about 2 s a report for the 5 MB of these fonts in base64; the fetcher reads the files.
    """
    rules = []
    for family, faces in FACES.items():
        for (weight, style), name in faces.items():
            rules.append(f'@font-face {{ font-family: "{family}"; font-weight: {weight}; font-style: {style}; '
                         f'src: url({FONT_SCHEME}:{name}) format("truetype"); }}')
    rules.append('html, body, body * { font-family: "dsrip-sans" !important; }')
    rules.append('pre, code, kbd, samp, pre *, code * { font-family: "dsrip-mono" !important; }')
    return "\n".join(rules)


def font_bytes(url: str) -> bytes | None:
    """The file behind a ``dsrip-font:`` URL of :func:`pdf_stylesheet`; None for any other URL."""
    scheme, _, name = url.partition(":")
    known = {n for faces in FACES.values() for n in faces.values()}
    if scheme != FONT_SCHEME or name not in known:
        return None
    return (_TTF / name).read_bytes()
