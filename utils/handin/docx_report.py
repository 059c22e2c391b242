"""The report draft as an editable ``.docx`` (opens in Word and Google Docs): A4, single column, Arial 12, single
spacing, as the course specifies, with the figures embedded and the places to fill in highlighted; and an estimate
of its length in pages, so that the student knows how much to cut to stay within five."""
from __future__ import annotations

import math
from pathlib import Path

from .draft import Block

PAGE_CM = (21.0, 29.7)
MARGIN_CM = 2.54
TEXT_W_CM = PAGE_CM[0] - 2 * MARGIN_CM
TEXT_H_CM = PAGE_CM[1] - 2 * MARGIN_CM
LINE_CM = 0.49  # Arial 12 at single spacing (about 13.8 pt)
CHARS_PER_LINE = 85  # Arial 12 across 15.9 cm
FONT = 'Arial'
MAX_PAGES = 5


def _image_height_cm(path: Path, width_cm: float) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return width_cm * im.height / im.width


def _set_font(style, size_pt: float, bold: bool | None = None) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    style.font.name = FONT
    style.font.size = Pt(size_pt)
    if bold is not None:
        style.font.bold = bold
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn('w:rFonts'))
    if fonts is None:
        fonts = rpr.makeelement(qn('w:rFonts'), {})
        rpr.append(fonts)
    for attr in ('w:ascii', 'w:hAnsi', 'w:eastAsia', 'w:cs'):
        fonts.set(qn(attr), FONT)
    if style.font.color is not None and style.name.startswith(('Heading', 'Title')):
        from docx.shared import RGBColor

        style.font.color.rgb = RGBColor(0, 0, 0)


def _new_document():
    from docx import Document
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    for side in ('left_margin', 'right_margin', 'top_margin', 'bottom_margin'):
        setattr(section, side, Cm(MARGIN_CM))
    normal = doc.styles['Normal']
    _set_font(normal, 12)
    normal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    normal.paragraph_format.space_after = Pt(4)
    for name, size in (('Title', 16), ('Heading 1', 14), ('Heading 2', 12), ('Caption', 10)):
        _set_font(doc.styles[name], size, bold=name != 'Caption')
    return doc


def _table(doc, df, font_pt: float) -> int:
    from docx.shared import Pt

    from .tables import body_rows, header_rows, spans

    head = header_rows(df)
    table = doc.add_table(rows=0, cols=len(df.columns) + 1)
    table.style = 'Table Grid'
    for r, texts in enumerate(head + body_rows(df)):
        cells = table.add_row().cells
        for cell, text in zip(cells, texts):
            cell.text = text
    if len(head) == 2:  # one merged cell per group of columns (run), the metrics below
        for a, b, text in spans(head[0]):
            if b > a:
                merged = table.rows[0].cells[a].merge(table.rows[0].cells[b])
                merged.text = text
    for row in table.rows:
        for cell in row.cells:
            for par in cell.paragraphs:
                par.paragraph_format.space_after = Pt(0)
                for run in par.runs:
                    run.font.size = Pt(font_pt)
    return len(df) + len(head)


def write_docx(blocks: list[Block], path: Path, figures: dict[str, Path]) -> float:
    """Write the draft to ``path``; returns its estimated length in A4 pages."""
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import Cm, Pt

    doc = _new_document()
    height = 0.0
    for block in blocks:
        if block.kind == 'title':
            doc.add_paragraph(block.text, style='Title')
            height += 1.4
        elif block.kind in ('heading', 'heading2'):
            doc.add_heading(block.text, level=1 if block.kind == 'heading' else 2)
            height += 1.1 if block.kind == 'heading' else 0.8
        elif block.kind in ('para', 'meta', 'equation'):
            par = doc.add_paragraph()
            run = par.add_run(block.text)
            run.italic = block.kind == 'equation'
            height += math.ceil(len(block.text) / CHARS_PER_LINE) * LINE_CM + 0.15
        elif block.kind == 'todo':
            par = doc.add_paragraph()
            run = par.add_run(f'[TO DO: {block.text}]')
            run.bold = True
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW
            height += math.ceil(len(block.text) / CHARS_PER_LINE) * LINE_CM + 0.15
        elif block.kind == 'code':
            par = doc.add_paragraph()
            run = par.add_run(block.text)
            run.font.name, run.font.size = 'Courier New', Pt(8)
            height += len(block.text.splitlines()) * 0.36 + 0.15
        elif block.kind == 'figure' and block.data in figures:
            width = min(TEXT_W_CM, 11.0 if block.data in ('per_class_iou', 'predictions') else TEXT_W_CM)
            doc.add_picture(str(figures[block.data]), width=Cm(width))
            doc.add_paragraph(block.caption, style='Caption')
            height += _image_height_cm(figures[block.data], width) + 0.8
        elif block.kind == 'table' and block.data is not None:
            font = 7 if len(block.data.columns) > 8 else 9
            rows = _table(doc, block.data, font)
            doc.add_paragraph(block.caption, style='Caption')
            height += rows * (0.45 if font < 9 else 0.55) + 0.8
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return round(height / TEXT_H_CM, 1)
