"""The report draft rendered as a word processor renders it: LibreOffice (``soffice``, headless) turns the .docx into
a PDF, poppler counts and draws its pages. Where they are installed this gives the draft's real length, to set
beside the estimate of :mod:`.docx_report`; where not, None and the estimate stands."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from utils.handin.docx_report import MARGIN_CM, PAGE_CM
from utils.handin.pdfcheck import pdf_pages


def soffice_pdf(docx: str | Path, out_dir: str | Path, timeout: int = 180) -> Path | None:
    """``docx`` converted to PDF in ``out_dir`` by LibreOffice; None when ``soffice`` is not installed or fails.
    A private profile folder lets several conversions run side by side."""
    exe = shutil.which('soffice') or shutil.which('libreoffice')
    if exe is None:
        return None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix='soffice-profile-') as profile:
        try:
            subprocess.run([exe, f'-env:UserInstallation=file://{profile}', '--headless', '--convert-to', 'pdf',
                            '--outdir', str(out), str(docx)], capture_output=True, timeout=timeout)
        except (OSError, subprocess.SubprocessError):
            return None
    pdf = out / (Path(docx).stem + '.pdf')
    return pdf if pdf.is_file() else None


def rendered_length(pdf: str | Path, dpi: int = 40) -> float | None:
    """The length of a rendered report in pages, as the estimate counts it: the full pages, plus how far down the
    text area of the last page its lowest mark reaches (None without poppler's ``pdftoppm``)."""
    pages = pdf_pages(pdf)
    exe = shutil.which('pdftoppm')
    if not pages or exe is None:
        return None
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run([exe, '-r', str(dpi), '-f', str(pages), '-l', str(pages), '-gray', '-png', str(pdf),
                              f'{tmp}/last'], capture_output=True, timeout=120)
        files = sorted(Path(tmp).glob('last*.png'))
        if got.returncode or not files:
            return None
        with Image.open(files[0]) as im:
            gray = im.convert('L')
            width, height = gray.size
            px_per_cm = height / PAGE_CM[1]
            top, bottom = int(MARGIN_CM * px_per_cm), int((PAGE_CM[1] - MARGIN_CM) * px_per_cm)
            data = gray.load()
            inked = [y for y in range(top, bottom) if any(data[x, y] < 200 for x in range(0, width, 2))]
    fill = ((inked[-1] - top) / (bottom - top)) if inked else 0.0
    return round(pages - 1 + fill, 2)
