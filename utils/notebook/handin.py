"""Notebook 06's steps: the hand-in of the run on Drive, built on any runtime (a CPU is enough), shown, checked
and offered for download."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from utils.handin.kit import HandinResult, build_handin

_TEST_IMAGE = re.compile(r'^test/test_image/[A-Za-z0-9_.-]+\.(jpg|jpeg|png)$')
SHOWN = ('loss', 'val_metrics', 'schedule', 'per_class_iou', 'predictions')


def test_images_from_drive(plan, dest: Path) -> Path | None:
    """The test images of the dataset copy that 01 kept on Drive, unpacked into ``dest`` (only those: a few MB);
    the images already on this runtime when there are; None when neither exists."""
    if Path(plan.test_images).is_dir():
        return Path(plan.test_images)
    if plan.keep_dir is None:
        return None
    from utils.data.archive import ARCHIVE

    archive = Path(plan.keep_dir) / 'data' / ARCHIVE
    if not archive.is_file():
        return None
    out = dest / 'test' / 'test_image'
    out.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if _TEST_IMAGE.match(info.filename) and info.file_size < 64 * 2**20:
                    (out / Path(info.filename).name).write_bytes(zf.read(info))
    except (zipfile.BadZipFile, OSError) as exc:
        print(f'note: the dataset copy {archive} cannot be read ({exc}); the test predictions are not checked.')
        return None
    return out if any(out.iterdir()) else None


def zip_name(plan, matric: str | None) -> str:
    """``<matric>.zip``; a smoke run's says it is not for handing in."""
    from utils.handin.kit import zip_name as name

    return name((matric or '').strip() or None, bool(plan.smoke))


def build_for_plan(plan) -> HandinResult:
    """Build ``handin/`` and the zip next to the run's work_dirs, from the run's stages, its submission zip (05) and
    the checkpoint that 04 and 05 used; the test images come from the dataset copy on Drive."""
    from utils.base.edition import rules
    from utils.core.env import CONTENT
    from utils.notebook.workflow import final_checkpoint

    try:
        ckpt = final_checkpoint(plan, for_submission=True)  # the model whose masks 05 submitted
    except FileNotFoundError as exc:
        print(f'note: {exc}')
        ckpt = None
    if not plan.trained_work_dirs:
        from utils.handin.rundata import HandinError

        raise HandinError(f'No trained stage of the {plan.recipe!r} run in {plan.work_root}.\nWhat to do: run '
                          '02_train_20k (and 03_resume_30k, 04_evaluate, 05_submit) first, then this notebook again.')
    images = test_images_from_drive(plan, CONTENT / 'handin-test-images')
    folder = plan.work_root / 'handin'
    result = build_handin(plan.trained_work_dirs, folder, matric=plan.matric,
                          leaderboard_name=plan.leaderboard_name, submission=plan.submission_zip, checkpoint=ckpt,
                          test_images=images, zip_path=plan.work_root / zip_name(plan, plan.matric),
                          edition=getattr(plan, 'edition', None))
    print(f'built {folder} under the {result.edition} rules (the report draft: about {result.pages} pages; the '
          f'course allows {rules(result.edition).max_pages})')
    for note in result.notes:
        print('note:', note)
    return result


def max_pages(result: HandinResult) -> int:
    """The course's page cap under the hand-in's rules."""
    from utils.base.edition import rules

    return rules(result.edition).max_pages


def show_figures(result: HandinResult, names=SHOWN) -> None:
    """Show the figures the draft holds, as the report shows them."""
    from IPython.display import Image, display

    for name in names:
        path = result.folder / 'figures' / f'{name}.png'
        if path.is_file():
            display(Image(filename=str(path), width=900 if name not in ('per_class_iou', 'predictions') else 650))


def draft_outline(result: HandinResult):
    """The draft's sections as a table: what each holds (paragraphs, figures, tables) and its places to fill in."""
    import docx
    import pandas as pd

    doc = docx.Document(str(result.folder / 'report_draft.docx'))
    rows: list[dict] = []
    body = doc.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit('}', 1)[-1]
        if tag == 'tbl' and rows:
            rows[-1]['tables'] += 1
            continue
        if tag != 'p':
            continue
        par = docx.text.paragraph.Paragraph(child, doc)
        if par.style.name in ('Title', 'Heading 1'):
            rows.append({'section': par.text, 'paragraphs': 0, 'figures': 0, 'tables': 0, 'to do': ''})
        elif rows:
            rows[-1]['figures'] += len(child.findall('.//' + docx.oxml.ns.qn('w:drawing')))
            rows[-1]['paragraphs'] += bool(par.text.strip()) and par.style.name != 'Caption'
            if par.text.startswith('[TO DO:'):
                rows[-1]['to do'] = (rows[-1]['to do'] + ' ' + par.text[8:-1]).strip()
    from utils.base.edition import rules

    df = pd.DataFrame(rows).set_index('section')
    r = rules(result.edition)
    return df.style.set_caption(f'report_draft.docx: about {result.pages} A4 pages in Arial {r.report_font_pt} (the '
                                f'course allows {r.max_pages})')


def should_download(result: HandinResult, smoke: bool, download: bool | None = None) -> bool:
    """Whether 06 starts the browser download: when asked (``download=True``), else only for a zip just built with
    nothing missing and not from a smoke run; the first runs, while the screenshot or the report PDF are still to
    add, would each download a zip that cannot be handed in."""
    if download is not None:
        return bool(download)
    return not smoke and result.zip_path.is_file() and not result.missing


def offer(result: HandinResult, smoke: bool = False, download: bool | None = None) -> bool:
    """Print the zip's size and contents count; start the browser download in Colab when :func:`should_download`
    says so, else say where the zip is and why it was not downloaded. Returns whether it was downloaded."""
    from utils.core.env import in_colab

    path = result.zip_path
    with zipfile.ZipFile(path) as zf:
        n = len(zf.namelist())
    print(f'{path}: {path.stat().st_size / 1e6:,.1f} MB, {n} files')
    if result.missing:
        print('still missing: ' + '; '.join(result.missing) + ' (see the table above; add them and run again)')
    if not in_colab():
        print(f'Not in Colab, so nothing to download: the zip is at {path.resolve()}.')
        return False
    if not should_download(result, smoke, download):
        why = ('a smoke run has nothing to hand in' if smoke and download is None else 'download = False was given'
               if download is False else 'items are missing')
        print(f'Not downloaded ({why}): it is on Drive at {path}. To download it anyway, set download=True '
              'in this cell and run it again.')
        return False
    from google.colab import files  # type: ignore[import-not-found]

    files.download(str(path))
    print('download started in the browser')
    return True
