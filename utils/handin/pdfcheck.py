"""Whether the report PDF a student saved is finished: its text read back (``pdftotext`` where poppler is installed,
else a small reader of the PDF's own text operators), then searched for what the draft leaves to fill in: a
``TO DO`` mark, the ``__.__`` placeholder, and the test score, which is read back to be shown beside the
leaderboard screenshot in the hand-in check."""
from __future__ import annotations

import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

TODO = re.compile(r'\bTO\s*DO\b')
PLACEHOLDER = re.compile(r'_{2,}\s*\.\s*_{2,}')
#: the draft's own sentence ("The best mIoU on the 1,000 test images is __.__") and a student's own wording
#: ("test mIoU: 74.25", "per-image F on the test set of 0.812")
DRAFT_SCORE = re.compile(r'test images is\s*(?P<value>[0-9]+(?:\.[0-9]+)?)?', re.I)
ANY_SCORE = re.compile(r'\btest\b[^.\n]{0,60}?(?:mIoU|F\b|F-|score)[^0-9\n]{0,30}(?P<value>[0-9]+\.[0-9]+)', re.I)


@dataclass
class ReportState:
    """What :func:`report_state` found in a report PDF."""

    path: Path
    readable: bool
    pages: int | None
    left: list[str] = field(default_factory=list)  # what is still to do, in words
    test_score: str | None = None

    @property
    def finished(self) -> bool:
        return self.readable and not self.left


# --------------------------------------------------------------------------- reading the text
def pdf_text(path: str | Path) -> str | None:
    """The text of a PDF: ``pdftotext`` when installed, else :func:`text_operators`; None when neither reads it."""
    exe = shutil.which('pdftotext')
    if exe:
        try:
            got = subprocess.run([exe, '-layout', str(path), '-'], capture_output=True, text=True, timeout=60)
            if got.returncode == 0 and got.stdout.strip():
                return got.stdout
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        return text_operators(Path(path).read_bytes()) or None
    except (OSError, ValueError):
        return None


def _inflate(head: bytes, raw: bytes) -> bytes | None:
    if b'FlateDecode' in head:
        try:
            return zlib.decompressobj().decompress(raw)
        except zlib.error:
            return None
    return None if b'/Filter' in head else raw  # images and other encodings hold no text


def _objects(data: bytes) -> dict[int, tuple[bytes, bytes | None]]:
    """Object number -> ``(its text, its decoded stream or None)``, objects inside object streams included."""
    objs: dict[int, tuple[bytes, bytes | None]] = {}
    for m in re.finditer(rb'(\d+)\s+\d+\s+obj\b', data):
        start = m.end()
        stream = re.match(rb'\s*(<<.*?>>)\s*stream\r?\n', data[start:start + 4096], re.S)
        if stream and b'endobj' not in stream.group(1):
            body_start = start + stream.end()
            end = data.find(b'endstream', body_start)
            if end > 0:
                objs[int(m.group(1))] = (stream.group(1), _inflate(stream.group(1), data[body_start:end]))
                continue
        end = data.find(b'endobj', start)
        objs[int(m.group(1))] = (data[start:end if end > 0 else start + 4096], None)
    for head, content in [v for v in objs.values() if v[1] is not None and b'/ObjStm' in v[0]]:
        first, count = re.search(rb'/First\s+(\d+)', head), re.search(rb'/N\s+(\d+)', head)
        if not first or not count:
            continue
        nums = [int(x) for x in content[:int(first.group(1))].split()][:2 * int(count.group(1))]
        offsets = [(nums[i], int(first.group(1)) + nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
        for k, (num, begin) in enumerate(offsets):
            end = offsets[k + 1][1] if k + 1 < len(offsets) else len(content)
            objs.setdefault(num, (content[begin:end], None))
    return objs


def _cmap(content: bytes) -> dict[int, str]:
    """A ToUnicode CMap: code -> text (``bfchar`` and ``bfrange`` entries); key -1 holds the code width in bytes."""
    out: dict[int, str] = {}

    def text(hexstr: bytes) -> str:
        return bytes.fromhex(hexstr.decode()).decode('utf-16-be', 'replace')

    for block in re.findall(rb'beginbfchar(.*?)endbfchar', content, re.S):
        for src, dst in re.findall(rb'<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>', block):
            out[int(src, 16)] = text(dst)
    for block in re.findall(rb'beginbfrange(.*?)endbfrange', content, re.S):
        for lo, hi, dst in re.findall(rb'<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>', block):
            start = int(dst, 16)
            for k, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                out[code] = chr(start + k) if start + k < 0x110000 else ''
    space = re.search(rb'begincodespacerange\s*<([0-9A-Fa-f]+)>', content)
    out[-1] = str(len(space.group(1)) // 2 if space else 1)
    return out


def _font_maps(objs: dict[int, tuple[bytes, bytes | None]]) -> dict[bytes, dict[int, str]]:
    """Font resource name (``/F1``) -> its ToUnicode map (fonts without one are read as Latin-1)."""
    maps = {}
    for num, (body, _) in objs.items():
        ref = re.search(rb'/ToUnicode\s+(\d+)\s+\d+\s+R', body)
        if ref and objs.get(int(ref.group(1)), (b'', None))[1]:
            maps[num] = _cmap(objs[int(ref.group(1))][1])
    names: dict[bytes, dict[int, str]] = {}
    for body, _ in objs.values():
        direct = re.findall(rb'/Font\s*<<(.*?)>>', body, re.S)
        linked = [objs.get(int(n), (b'', None))[0] for n in re.findall(rb'/Font\s+(\d+)\s+\d+\s+R', body)]
        for fonts in direct + linked:
            for name, num in re.findall(rb'/([^\s/<>\[\]()]+)\s+(\d+)\s+\d+\s+R', fonts):
                if int(num) in maps:
                    names[name] = maps[int(num)]
    return names


def _decode(token: bytes, mapping: dict[int, str] | None) -> str:
    if token.startswith(b'<'):
        raw = bytes.fromhex(re.sub(rb'\s', b'', token[1:-1]).decode() + ('0' if len(token) % 2 else ''))
    else:
        raw = re.sub(rb'\\([nrtbf()\\])', lambda m: {b'n': b'\n', b'r': b'\r', b't': b'\t', b'b': b'\b',
                                                      b'f': b'\f'}.get(m.group(1), m.group(1)), token[1:-1])
        raw = re.sub(rb'\\([0-7]{1,3})', lambda m: bytes([int(m.group(1), 8) & 255]), raw)
    if not mapping:
        return raw.decode('latin-1')
    width = int(mapping.get(-1, '1'))
    codes = [int.from_bytes(raw[i:i + width], 'big') for i in range(0, len(raw), width)]
    return ''.join(mapping.get(c, '') for c in codes)


_OPS = re.compile(rb'/([^\s/<>\[\]()]+)\s+[-0-9.]+\s+Tf|(\[(?:\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|[^\]])*\])\s*TJ|'
                  rb'(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>)\s*(?:Tj|\'|")|(T\*|Td|TD|Tm|ET)\b')


def text_operators(data: bytes) -> str:
    """The text a PDF draws, from its content streams' text operators (Tj, TJ, ', "), decoded through each font's
    ToUnicode map; lines break at text moves. A fallback for machines without poppler: it knows no layout."""
    objs = _objects(data)
    fonts = _font_maps(objs)
    out: list[str] = []
    for _, content in objs.values():
        if content is None or b'BT' not in content or b'begincmap' in content:
            continue
        mapping = None
        for m in _OPS.finditer(content):
            font, array, single, move = m.groups()
            if font is not None:
                mapping = fonts.get(font)
            elif array is not None:
                parts = re.findall(rb'\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f\s]*>|-?\d+(?:\.\d+)?', array[1:-1])
                for part in parts:
                    if part[:1] in (b'(', b'<'):
                        out.append(_decode(part, mapping))
                    elif float(part) < -200:  # a gap wider than a fifth of an em is a space
                        out.append(' ')
            elif single is not None:
                out.append(_decode(single, mapping))
            elif move is not None:
                out.append('\n' if move != b'Td' or not out or not out[-1].endswith(' ') else '')
    return re.sub(r'[ \t]+', ' ', ''.join(out))


# --------------------------------------------------------------------------- what is left
def pdf_pages(path: str | Path) -> int | None:
    """Pages of a PDF (``pdfinfo`` where installed, else its ``/Type /Page`` objects)."""
    exe = shutil.which('pdfinfo')
    if exe:
        try:
            got = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=30)
            m = re.search(r'^Pages:\s+(\d+)', got.stdout, re.M)
            if m:
                return int(m.group(1))
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        return len(re.findall(rb'/Type\s*/Page[^s]', Path(path).read_bytes())) or None
    except OSError:
        return None


def report_state(path: str | Path, max_pages: int | None = None) -> ReportState:
    """Read ``report.pdf`` back: its pages, the test score it states, and what is left (TO DO marks, the
    ``__.__`` placeholder, an empty or absent test score, pages over ``max_pages``)."""
    path = Path(path)
    text = pdf_text(path)
    state = ReportState(path, readable=text is not None, pages=pdf_pages(path))
    if text is None:
        state.left.append('its text cannot be read here (install poppler-utils for pdftotext, or check it by hand)')
        return state
    flat = re.sub(r'\s+', ' ', text)
    todos = len(TODO.findall(flat))
    if todos:
        state.left.append(f'{todos} TO DO mark(s)')
    if PLACEHOLDER.search(flat):
        state.left.append('the __.__ placeholder')
    drafted = DRAFT_SCORE.search(flat)
    found = (drafted.group('value') if drafted else None) or next(
        (m.group('value') for m in ANY_SCORE.finditer(flat)), None)
    state.test_score = found
    if found is None:
        state.left.append('the test score (empty: copy it from the leaderboard)' if drafted else
                          'no test score found (state the leaderboard\'s test score)')
    if max_pages and state.pages and state.pages > max_pages:
        state.left.append(f'{state.pages} pages, over the {max_pages} allowed')
    return state
