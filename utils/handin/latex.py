"""The report draft as LaTeX (``report.tex`` beside ``figures/*.pdf``): upload the folder to Overleaf, or run
``pdflatex report.tex``. A4, the edition's size (12 pt in 2022, 10 pt in 2025-26), single column, Helvetica
(Arial's metric twin) as the text font, numbered captions ("Figure 1.", "Table 1."), tables at 9 pt or more."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from utils.handin.block import Block, figure_fraction
from utils.handin.tables import latex_escape, to_latex

PREAMBLE = r"""\documentclass[%(size)spt,a4paper]{article}
\usepackage[a4paper,margin=2.54cm]{geometry}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{helvet}
\usepackage{courier}
\usepackage{array}
\renewcommand{\familydefault}{\sfdefault}
\usepackage{amsmath}
\usepackage{graphicx}
\usepackage{booktabs}
\usepackage{xcolor}
\usepackage{float}
\usepackage{url}
\usepackage[labelsep=period,font=small]{caption}
\sloppy
\setlength{\parindent}{0pt}
\makeatletter  % headings closer to their text than article's default: the course counts pages
\renewcommand\section{\@startsection{section}{1}{\z@}{-1.6ex plus -.5ex minus -.2ex}{.8ex plus .2ex}%
  {\normalfont\large\bfseries}}
\renewcommand\subsection{\@startsection{subsection}{2}{\z@}{-1.2ex plus -.4ex minus -.2ex}{.5ex plus .2ex}%
  {\normalfont\normalsize\bfseries}}
\makeatother
\setlength{\parskip}{4pt}
\newcommand{\todo}[1]{\colorbox{yellow}{\parbox{\dimexpr\linewidth-2\fboxsep}{\textbf{TO DO: #1}}}}
\begin{document}
"""


def _verbatim(text: str, width: int = 92) -> str:
    """``text`` as verbatim, its long lines wrapped at ``width`` characters (a verbatim line never breaks itself
    and would run into the margin)."""
    import textwrap

    lines = [part for line in text.splitlines() for part in
             ([line] if len(line) <= width else
              textwrap.wrap(line, width, subsequent_indent='    ', break_on_hyphens=False, drop_whitespace=False))]
    safe = '\n'.join(lines).replace('\\end{verbatim}', '\\end{verb atim}')
    return '{\\scriptsize\n\\begin{verbatim}\n' + safe + '\n\\end{verbatim}\n}'


def _unicode(text: str) -> str:
    """Escape ``text`` for LaTeX, with the few non-ASCII signs the draft uses spelled out."""
    out = latex_escape(text)
    for a, b in (('Σ', r'$\Sigma$'), ('·', r'$\cdot$'), ('−', '-'), ('Δ', r'$\Delta$')):
        out = out.replace(a, b)
    return out


def _urls(text: str) -> str:
    """Web addresses set with ``\\url`` (they break at slashes instead of running into the margin)."""
    return re.sub(r'https?://[^\s]+', lambda m: r'\url{' + m.group(0).replace(r'\_', '_').replace(r'\%', '%')
                  + '}', text)


def render(blocks: list[Block], figures: dict[str, Path], body_pt: int = 12) -> str:
    """The whole ``report.tex`` text; figures are referenced as ``figures/<name>.pdf`` (PNG where no PDF)."""
    out = [PREAMBLE.replace('%(size)s', str(body_pt))]
    for block in blocks:
        if block.kind == 'title':
            out.append(rf'{{\Large\bfseries {_unicode(block.text)}\par}}\medskip')
        elif block.kind == 'meta':
            out.append(_unicode(block.text) + r'\\')
        elif block.kind == 'heading':
            out.append(rf'\section*{{{_unicode(block.text)}}}')
        elif block.kind == 'heading2':
            out.append(rf'\subsection*{{{_unicode(block.text)}}}')
        elif block.kind == 'para':
            out.append(_urls(_unicode(block.text)) + '\n')
        elif block.kind == 'equation':
            out.append(rf'\begin{{equation*}}{block.data}\end{{equation*}}')
        elif block.kind == 'todo':
            out.append(rf'\todo{{{_unicode(block.text)}}}' + '\n')
        elif block.kind == 'code':
            out.append(_verbatim(block.text))
        elif block.kind == 'figure' and block.data in figures:
            png = figures[block.data]
            src = png.with_suffix('.pdf') if png.with_suffix('.pdf').is_file() else png
            width = f'{figure_fraction(block.data, png):.2f}'
            where = '' if block.data == 'score' else 'figures/'  # the screenshot sits beside report.tex
            out.append('\\begin{figure}[H]\\centering\n'
                       f'\\includegraphics[width={width}\\linewidth]{{{where}{src.name}}}\n'
                       f'\\caption{{{_unicode(block.caption)}}}\n\\end{{figure}}')
        elif block.kind == 'table' and block.data is not None:
            # 9 pt (11 pt leading) whatever the body size: the smallest a table may be
            tex = to_latex(block.data, block.caption).replace('[htbp]', '[H]').replace(
                '\\small', '\\fontsize{9}{11}\\selectfont' + ('\\setlength{\\tabcolsep}{3pt}' if len(block.data.columns) > 8
                                                             else ''))
            out.append(tex)
    out.append(r'\end{document}')
    return '\n'.join(out) + '\n'


def compile_pdf(tex: Path, timeout: int = 120) -> tuple[bool, str]:
    """``pdflatex`` the file twice in its folder when a TeX installation exists: ``(ok, message)``."""
    exe = shutil.which('pdflatex')
    if exe is None:
        return False, 'no pdflatex on this machine: upload the folder to Overleaf to compile it'
    for _ in range(2):
        got = subprocess.run([exe, '-interaction=nonstopmode', '-halt-on-error', tex.name], cwd=tex.parent,
                             capture_output=True, text=True, timeout=timeout)
        if got.returncode:
            return False, 'pdflatex failed: ' + '\n'.join(got.stdout.strip().splitlines()[-5:])
    return True, str(tex.with_suffix('.pdf'))
