"""utils.notebook.widgets: rendering functions headless, the ipywidgets inspector reacting to its controls, static fallbacks."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from utils.evaluate import Accumulator, EvaluationError, load_result, read_mask, save_result, split_files
from utils.base.labels import CLASSES
from utils.core.synthetic import save_mask
from utils.notebook.widgets import (ERROR_COLOURS, Inspector, class_options, error_map, find_result_dirs, inspector,
                                    per_image_scores, plot_iou_histogram, render_example, render_worst, widgets_available)

L_EYE, R_EYE = CLASSES.index('l_eye'), CLASSES.index('r_eye')


def _write_results(out: Path, synthetic_root: Path, variant: int, split: str = 'val') -> Path:
    """A results folder in utils.evaluate's format, from predictions made by corrupting the ground truth."""
    (out / 'pred').mkdir(parents=True)
    acc = Accumulator()
    for k, (name, _img, mask) in enumerate(split_files(synthetic_root, 'val')):
        gt = read_mask(mask)
        pred = gt.copy()
        if k % 2 == variant % 2:
            pred[gt == L_EYE] = R_EYE  # half the images: left eye called right eye
        pred[:, : k + variant] = 0  # a growing strip of background: per-image scores differ
        save_mask(pred, out / 'pred' / f'{name}.png')
        acc.add(name, pred, gt)
    result = acc.result(dict(split=split, tta='none', data_root=str(synthetic_root), checkpoint=f'crafted{variant}',
                             params=123, flops=None, flops_note='crafted'), out_dir=out)
    save_result(result, out)
    return out


@pytest.fixture(scope='module')
def results_parent(synthetic_root, tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp('results')
    _write_results(parent / 'a', synthetic_root, 0)
    _write_results(parent / 'nested' / 'b', synthetic_root, 1)
    return parent


@pytest.fixture(scope='module')
def result(results_parent):
    return load_result(results_parent / 'a')


def test_find_result_dirs(results_parent, tmp_path):
    found = find_result_dirs(results_parent)
    assert set(found) == {results_parent / 'a', results_parent / 'nested' / 'b'}
    assert find_result_dirs(results_parent / 'a') == [results_parent / 'a']
    assert find_result_dirs(tmp_path) == []


def test_class_options_sorted_by_iou_with_labels(result):
    opts = class_options(result)
    assert sorted(v for _, v in opts) == list(range(len(CLASSES)))
    iou = result.per_class['IoU']
    values = [iou.iloc[v] for _, v in opts if not np.isnan(iou.iloc[v])]
    assert values == sorted(values)
    label, first = opts[0]
    assert label.startswith(CLASSES[first]) and f'{iou.iloc[first]:.1f}' in label
    assert first == L_EYE  # the corruption hits l_eye hardest


def test_per_image_scores_worst_first_and_correct(result, synthetic_root):
    scores = per_image_scores(result, 'l_eye')
    assert list(scores) == sorted(scores)
    name = scores.index[0]
    gt = read_mask(synthetic_root / 'val' / 'val_mask' / f'{name}.png')
    pred = read_mask(result.pred_path(name))
    inter = np.sum((gt == L_EYE) & (pred == L_EYE))
    union = np.sum((gt == L_EYE) | (pred == L_EYE))
    assert scores.iloc[0] == pytest.approx(100 * inter / union)
    assert len(per_image_scores(result, 'neck_l')) == int(((result.union[:, CLASSES.index('neck_l')]) > 0).sum())


def test_error_map_colours():
    gt = np.array([[4, 4, 1, 1]])
    pred = np.array([[4, 1, 4, 1]])
    emap = error_map(gt, pred, 4)
    colours = list(ERROR_COLOURS.values())
    assert [tuple(c) for c in emap[0]] == [colours[0], colours[1], colours[2], colours[4]]


def test_render_functions_return_figures(result, tmp_path):
    name = per_image_scores(result, L_EYE).index[0]
    fig = render_example(result, L_EYE, name)
    assert len(fig.axes) == 4 and all(ax.images for ax in fig.axes)
    assert 'l_eye' in fig._suptitle.get_text()
    moved = render_example(result, L_EYE, name, data_root=tmp_path / 'moved')  # data gone: placeholders, no error
    assert not moved.axes[0].images and moved.axes[2].images
    hist = plot_iou_histogram(result, L_EYE, current=name)
    assert hist.axes[0].patches
    worst = render_worst(result, n=2)
    assert len(worst.axes) == 8 and 'l_eye' in worst._suptitle.get_text()
    with pytest.raises(ValueError, match='unknown class'):
        per_image_scores(result, 'whiskers')


def _png(widget) -> bytes:
    return bytes(widget.value)


def test_inspector_widget_reacts_to_class_rank_and_results(results_parent):
    pytest.importorskip('ipywidgets')
    ins = Inspector(results_parent)
    assert ins.class_dropdown.description == 'Class' and ins.results.description == 'Results'
    assert ins.split.description == 'Split' and ins.rank.description == 'Rank'
    assert len(ins.results.options) == 2
    first_class = ins.class_dropdown.value
    assert first_class == class_options(ins.result)[0][1]
    example, hist = _png(ins.example_image), _png(ins.hist_image)
    assert example[:4] == b'\x89PNG'

    other = [v for _, v in ins.class_dropdown.options if v != first_class][0]
    ins.class_dropdown.value = other  # what a user (or a browser test) does
    assert _png(ins.example_image) != example and _png(ins.hist_image) != hist
    assert CLASSES[other] in ins.info.value

    ins.class_dropdown.value = L_EYE
    shown = ins.current_image
    assert shown == per_image_scores(ins.result, L_EYE).index[0]
    before = _png(ins.example_image)
    ins.buttons['better ▶'].click()
    assert ins.rank.value == 1 and ins.current_image != shown and _png(ins.example_image) != before
    ins.buttons['Best'].click()
    assert ins.rank.value == ins.rank.max
    ins.buttons['Worst'].click()
    assert ins.rank.value == 0

    values = [v for _, v in ins.results.options]
    old = _png(ins.example_image)
    ins.results.value = [v for v in values if v != ins.results.value][0]
    assert ins.class_dropdown.value == L_EYE  # the class choice survives a change of results folder
    assert _png(ins.example_image) != old

    bundle = ins._repr_mimebundle_()
    assert bundle['application/vnd.jupyter.widget-view+json']['model_id'] == ins.widget.model_id
    assert 'image/png' in bundle  # static fallback for headless runs


def test_inspector_split_filter(results_parent, synthetic_root, tmp_path):
    pytest.importorskip('ipywidgets')
    parent = tmp_path / 'res'
    shutil.copytree(results_parent, parent)
    _write_results(parent / 'trainsplit', synthetic_root, 2, split='train')
    ins = Inspector(parent, split='train')
    assert list(ins.split.options) == ['train', 'val'] and len(ins.results.options) == 1
    ins.split.value = 'val'
    assert len(ins.results.options) == 2


def test_inspector_falls_back_to_a_static_figure(results_parent, monkeypatch):
    from matplotlib.figure import Figure

    assert not widgets_available()  # pytest has no kernel
    assert isinstance(inspector(results_parent), Figure)
    assert isinstance(inspector(results_parent, static=True), Figure)
    monkeypatch.setitem(sys.modules, 'ipywidgets', None)  # ipywidgets not installed
    assert isinstance(inspector(results_parent, static=False), Figure)


def test_inspector_without_results_says_what_to_do(tmp_path):
    with pytest.raises(EvaluationError, match='run utils.evaluate first'):
        inspector(tmp_path, static=True)


def test_inspector_in_a_headless_kernel_shows_a_picture(results_parent, tmp_path):
    nbformat = pytest.importorskip('nbformat')
    nbclient = pytest.importorskip('nbclient')
    from jupyter_client.kernelspec import KernelSpecManager

    if 'python3' not in KernelSpecManager().find_kernel_specs():
        pytest.skip('no python3 Jupyter kernel')
    repo = Path(__file__).resolve().parent.parent
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f'import sys; sys.path.insert(0, {str(repo)!r})\n'
                                          'from utils.notebook.widgets import inspector\n'
                                          f'inspector({str(results_parent)!r})')]
    nbclient.NotebookClient(nb, timeout=120, kernel_name='python3', resources={'metadata': {'path': str(tmp_path)}}
                            ).execute()
    outputs = nb.cells[0].outputs
    assert outputs and outputs[-1]['output_type'] == 'execute_result', outputs
    data = outputs[-1]['data']
    assert 'image/png' in data and 'application/vnd.jupyter.widget-view+json' in data
