"""The report draft as an editable ``.docx`` (opens in Word and Google Docs): A4, single column, Arial in the
edition's size (12 pt in 2022, 10 pt in 2025-26) everywhere, the title and headings included, single spacing, with
the figures embedded, numbered captions and the places to fill in highlighted; and an estimate of its length in
pages (text flowed onto A4 pages, figures moved whole to the next page as a word processor does), so that the
student knows how much room is left under the course's cap."""
from __future__ import annotations

import math
from pathlib import Path

from utils.handin.block import Block, figure_fraction

PAGE_CM = (21.0, 29.7)
MARGIN_CM = 2.54
TEXT_W_CM = PAGE_CM[0] - 2 * MARGIN_CM
TEXT_H_CM = PAGE_CM[1] - 2 * MARGIN_CM
PT_CM = 2.54 / 72
FONT = 'Arial'
CODE_FONT, CODE_PT = 'Courier New', 8
TABLE_PT = 9  # the smallest size a table may use and stay readable in print
#: Arial's line at single spacing is 1.15 em; its average character across English text about 0.5 em
LINE_EM, CHAR_EM, CODE_CHAR_EM = 1.15, 0.5, 0.6
SPACE_AFTER_PT, HEADING_BEFORE_PT = 4, 8
#: the theme-font attributes Word prefers over a named font (python-docx's template sets them on the headings)
THEME_ATTRS = ('w:asciiTheme', 'w:hAnsiTheme', 'w:eastAsiaTheme', 'w:cstheme')


def _image_height_cm(path: Path, width_cm: float) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return width_cm * im.height / im.width


def set_font(target, size_pt: float | None, bold: bool | None = None, name: str = FONT) -> None:
    """``name`` at ``size_pt`` on a style or a run, for every script (ASCII, East Asian, complex) and with the theme
    fonts removed, so that Word and Google Docs show this font and not the theme's (Calibri Light)."""
    from docx.oxml.ns import qn
    from docx.shared import Pt

    target.font.name = name
    if size_pt is not None:
        target.font.size = Pt(size_pt)
    if bold is not None:
        target.font.bold = bold
    rpr = target.element.get_or_add_rPr()
    fonts = rpr.find(qn('w:rFonts'))
    if fonts is None:
        fonts = rpr.makeelement(qn('w:rFonts'), {})
        rpr.insert(0, fonts)
    for attr in THEME_ATTRS:
        fonts.attrib.pop(qn(attr), None)
    for attr in ('w:ascii', 'w:hAnsi', 'w:eastAsia', 'w:cs'):
        fonts.set(qn(attr), name)


def _new_document(body_pt: float):
    from docx import Document
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(PAGE_CM[0]), Cm(PAGE_CM[1])
    for side in ('left_margin', 'right_margin', 'top_margin', 'bottom_margin'):
        setattr(section, side, Cm(MARGIN_CM))
    sizes = {'Normal': body_pt, 'Title': body_pt + 6, 'Heading 1': body_pt + 2, 'Heading 2': body_pt,
             'Caption': max(TABLE_PT, body_pt - 1)}
    for name, size in sizes.items():
        style = doc.styles[name]
        set_font(style, size, bold=name.startswith(('Heading', 'Title')) or None)
        fmt = style.paragraph_format
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
        fmt.space_after = Pt(SPACE_AFTER_PT)
        fmt.space_before = Pt(HEADING_BEFORE_PT if name.startswith('Heading') else 0)
        if name != 'Normal':
            style.font.color.rgb = RGBColor(0, 0, 0)
            style.font.italic = False
    title = doc.styles['Title'].element.get_or_add_pPr()
    for border in title.findall('{http://schemas.openxmlformats.org/wordprocessingml/2006/main}pBdr'):
        title.remove(border)  # the template's blue rule under the title
    return doc


def column_widths(rows: list[list[str]]) -> list[float]:
    """Column widths in cm across the text width: each value column as wide as its longest cell needs, the first
    column (the row labels, which may wrap) the rest but at least a fifth; the value columns shrink only when
    they need more than four fifths."""
    char = TABLE_PT * 0.55 * PT_CM
    need = [max(len(r[k]) if k < len(r) else 0 for r in rows) * char + 0.5 for k in range(len(rows[0]))]
    values = sum(need[1:])
    if values > 0.8 * TEXT_W_CM:
        scale = 0.8 * TEXT_W_CM / values
        return [0.2 * TEXT_W_CM] + [n * scale for n in need[1:]]
    first = min(need[0], TEXT_W_CM - values)
    spare = (TEXT_W_CM - values - first) / max(len(need) - 1, 1)
    return [first] + [n + spare for n in need[1:]]


def _table(doc, df) -> None:
    from docx.shared import Cm, Pt

    from utils.handin.tables import body_rows, header_rows, spans

    head = header_rows(df)
    rows = head + body_rows(df)
    table = doc.add_table(rows=0, cols=len(df.columns) + 1)
    table.style = 'Table Grid'
    table.autofit = False
    widths = column_widths(rows)
    for column, width in zip(table.columns, widths):
        column.width = Cm(width)  # the grid: LibreOffice and Google Docs read these, Word the cells'
    for texts in rows:
        cells = table.add_row().cells
        for cell, text, width in zip(cells, texts, widths):
            cell.text = text
            cell.width = Cm(width)
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
                    set_font(run, TABLE_PT)


class Flow:
    """Heights in cm laid onto A4 pages: text may break across pages, a figure moves whole to the next page."""

    def __init__(self) -> None:
        self.pages, self.used = 0, 0.0

    def text(self, height: float) -> None:
        self.used += height
        while self.used > TEXT_H_CM:
            self.pages, self.used = self.pages + 1, self.used - TEXT_H_CM

    def whole(self, height: float) -> None:
        if self.used + height > TEXT_H_CM and self.used > 0:
            self.pages, self.used = self.pages + 1, 0.0
        self.text(min(height, TEXT_H_CM))

    @property
    def length(self) -> float:
        return round(self.pages + self.used / TEXT_H_CM, 1)


def _lines(text: str, size_pt: float, char_em: float = CHAR_EM) -> int:
    per_line = max(1, int(TEXT_W_CM / (size_pt * char_em * PT_CM)))
    return sum(max(1, math.ceil(len(line) / per_line)) for line in text.splitlines() or [''])


def _par_cm(text: str, size_pt: float, char_em: float = CHAR_EM) -> float:
    return _lines(text, size_pt, char_em) * size_pt * LINE_EM * PT_CM + SPACE_AFTER_PT * PT_CM


def write_docx(blocks: list[Block], path: Path, figures: dict[str, Path], body_pt: float = 12) -> float:
    """Write the draft to ``path`` in Arial ``body_pt``; returns its estimated length in A4 pages."""
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import Cm, Pt

    doc = _new_document(body_pt)
    flow, counters = Flow(), {'figure': 0, 'table': 0}
    caption_pt = max(TABLE_PT, body_pt - 1)
    for block in blocks:
        if block.kind == 'title':
            doc.add_paragraph(block.text, style='Title')
            flow.text(_par_cm(block.text, body_pt + 6))
        elif block.kind in ('heading', 'heading2'):
            size = body_pt + 2 if block.kind == 'heading' else body_pt
            par = doc.add_heading(block.text, level=1 if block.kind == 'heading' else 2)
            par.paragraph_format.keep_with_next = True
            flow.whole(_par_cm(block.text, size) + HEADING_BEFORE_PT * PT_CM + 2 * body_pt * LINE_EM * PT_CM)
            flow.used -= 2 * body_pt * LINE_EM * PT_CM  # kept with the next two lines, counted there
        elif block.kind in ('para', 'meta', 'equation', 'todo'):
            text = f'[TO DO: {block.text}]' if block.kind == 'todo' else block.text
            run = doc.add_paragraph().add_run(text)
            run.italic = block.kind == 'equation'
            if block.kind == 'todo':
                run.bold = True
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
            flow.text(_par_cm(text, body_pt))
        elif block.kind == 'code':
            par = doc.add_paragraph()
            set_font(par.add_run(block.text), CODE_PT, name=CODE_FONT)
            flow.text(_lines(block.text, CODE_PT, CODE_CHAR_EM) * CODE_PT * 1.13 * PT_CM + SPACE_AFTER_PT * PT_CM)
        elif block.kind == 'figure' and block.data in figures:
            counters['figure'] += 1
            width = TEXT_W_CM * figure_fraction(block.data, figures[block.data])
            doc.add_picture(str(figures[block.data]), width=Cm(width))
            doc.paragraphs[-1].paragraph_format.keep_with_next = True
            caption = f'Figure {counters["figure"]}. {block.caption}'
            doc.add_paragraph(caption, style='Caption')
            flow.whole(_image_height_cm(figures[block.data], width) + body_pt * LINE_EM * PT_CM
                       + _par_cm(caption, caption_pt))
        elif block.kind == 'table' and block.data is not None:
            counters['table'] += 1
            caption = f'Table {counters["table"]}. {block.caption}'
            par = doc.add_paragraph(caption, style='Caption')
            par.paragraph_format.keep_with_next = True
            _table(doc, block.data)
            doc.add_paragraph().paragraph_format.space_after = Pt(0)
            rows = len(block.data) + (2 if isinstance(block.data.columns[0], tuple) else 1)
            flow.text(_par_cm(caption, caption_pt) + rows * TABLE_PT * LINE_EM * PT_CM * 1.05
                      + body_pt * LINE_EM * PT_CM)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return flow.length
