"""Reports identical on any machine: the PDF's fonts come from a pinned package, never the system."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dsrip_lib.publishing.fonts import FACES, FONT_SCHEME, font_bytes, font_files, pdf_stylesheet
from dsrip_lib.run import manifest
from dsrip_lib.run.parameters import RunParams

# A fontconfig whose default sans-serif (and the usual named sans fonts) is another font,
# as after a system package installed Liberation Sans.
OTHER_DEFAULT_SANS = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="strong"><family>sans-serif</family><prefer><family>DejaVu Serif</family></prefer></alias>
  <alias binding="strong"><family>Helvetica</family><prefer><family>DejaVu Serif</family></prefer></alias>
  <alias binding="strong"><family>Arial</family><prefer><family>DejaVu Serif</family></prefer></alias>
</fontconfig>
"""
HTML = ("<html><body style='font-family: Helvetica, Arial, sans-serif'><h1>Attribution</h1>"
        "<p>Members <b>1,234</b> <i>partial</i> <code>aco_id</code></p></body></html>")
RENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    import weasyprint
    from dsrip_lib.run.export import export_pdf
    html = sys.argv[3]
    if sys.argv[2] == "report":
        export_pdf(html, Path(sys.argv[1]))
    else:  # WeasyPrint as it is, with the system's fonts
        weasyprint.HTML(string=html).write_pdf(sys.argv[1])
""")


def render(tmp_path: Path, how: str, fontconfig: Path | None) -> bytes:
    out = tmp_path / f"{how}-{'other' if fontconfig else 'default'}.pdf"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    if fontconfig:
        env["FONTCONFIG_FILE"] = str(fontconfig)
    subprocess.run([sys.executable, "-c", RENDER, str(out), how, HTML], check=True, env=env, timeout=120)
    return out.read_bytes()


@pytest.mark.slow
def test_a_pdf_made_under_another_default_sans_font_is_byte_identical(tmp_path):
    config = tmp_path / "fonts.conf"
    config.write_text(OTHER_DEFAULT_SANS)
    # the fontconfig does change what the system offers: WeasyPrint on its own renders differently
    assert render(tmp_path, "plain", None) != render(tmp_path, "plain", config)
    assert render(tmp_path, "report", None) == render(tmp_path, "report", config)


def test_every_face_is_a_file_of_the_pinned_package():
    files = font_files()
    assert len(files) == sum(len(faces) for faces in FACES.values())
    assert all(path.is_file() and "mpl-data" in path.parts for path in files)
    css = pdf_stylesheet()
    assert css.count("@font-face") == len(files) and f"url({FONT_SCHEME}:DejaVuSans.ttf)" in css
    assert "http" not in css and "file:" not in css


def test_the_font_scheme_serves_the_packaged_faces_and_nothing_else():
    for path in font_files():
        assert font_bytes(f"{FONT_SCHEME}:{path.name}") == path.read_bytes()
    for url in (f"{FONT_SCHEME}:../../secret.ttf", f"{FONT_SCHEME}:Arial.ttf", "file:///etc/passwd",
                "data:font/ttf;base64,AAAA", f"{FONT_SCHEME.upper()}:DejaVuSans.ttf"):
        assert font_bytes(url) is None


def test_the_manifest_records_each_font_file_with_its_hash(tmp_path):
    record = manifest.RunRecord.start(RunParams(run_id="f", data_dir=tmp_path), tmp_path, [], [])
    fonts = {entry["file"]: entry["sha256"] for entry in record.body["fonts"]}
    for path in font_files():
        assert fonts[manifest._package_path(path)] == hashlib.sha256(path.read_bytes()).hexdigest()
