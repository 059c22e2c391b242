"""utils.core.stats: cached per-image class counts, frequencies, class weights, figures and the CLI."""
from __future__ import annotations

import os

import matplotlib
import numpy as np
import pytest
from PIL import Image

from utils.core import stats
from utils.core.config import WEIGHT_METHODS, seed_class_weights
from utils.base.layout import DataError
from utils.base.labels import CLASSES, NUM_CLASSES
from utils.core.synthetic import make_synthetic_dataset, save_mask

matplotlib.use('Agg')


@pytest.fixture
def ds(tmp_path):
    return make_synthetic_dataset(tmp_path / 'ds', 20, 4, 2, size=32, progress=False)  # 20: every class occurs


def _independent_counts(folder) -> dict[str, np.ndarray]:
    out = {}
    for p in sorted(folder.iterdir()):
        vals, n = np.unique(np.asarray(Image.open(p)), return_counts=True)
        row = np.zeros(NUM_CLASSES, np.int64)
        row[vals] = n
        out[p.name] = row
    return out


def test_class_pixel_counts_match_masks(ds):
    df = stats.class_pixel_counts(ds, 'train', progress=False)
    expected = _independent_counts(ds / 'train' / 'train_mask')
    assert sorted(df.index) == sorted(expected)
    for name, row in expected.items():
        np.testing.assert_array_equal(df.loc[name, list(CLASSES)].to_numpy(), row)
    assert (df['other'] == 0).all()
    assert (df.sum(axis=1) == 32 * 32).all()
    assert (ds / stats.CACHE_NAME).is_file()


def test_cache_reused_and_invalidated(ds, monkeypatch):
    first = stats.class_pixel_counts(ds, 'train', progress=False)
    counted = []

    def spy(path):
        counted.append(os.path.basename(path))
        return real(path)

    real = stats.count_mask
    monkeypatch.setattr(stats, 'count_mask', spy)
    again = stats.class_pixel_counts(ds, 'train', progress=False)
    assert counted == [] and again.equals(first)
    # change one mask: only it is recounted, and its new counts are returned
    path = ds / 'train' / 'train_mask' / '3.png'
    save_mask(np.full((32, 32), 14, np.uint8), path)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    third = stats.class_pixel_counts(ds, 'train', progress=False)
    assert counted == ['3.png']
    assert third.loc['3.png', 'hat'] == 32 * 32 and third.loc['3.png', 'skin'] == 0
    assert third.drop(index='3.png').equals(first.drop(index='3.png'))
    # a new mask is counted, a removed one dropped
    os.remove(ds / 'train' / 'train_mask' / '5.png')
    save_mask(np.zeros((32, 32), np.uint8), ds / 'train' / 'train_mask' / '40.png')
    counted.clear()
    fourth = stats.class_pixel_counts(ds, 'train', progress=False)
    assert counted == ['40.png'] and '5.png' not in fourth.index
    # no cache: everything is counted
    counted.clear()
    stats.class_pixel_counts(ds, 'train', cache=False, progress=False)
    assert len(counted) == len(fourth)


def test_corrupt_cache_is_rebuilt(ds):
    (ds / stats.CACHE_NAME).write_bytes(b'not an npz')
    df = stats.class_pixel_counts(ds, 'val', progress=False)
    assert len(df) == 4 and df.to_numpy().sum() == 4 * 32 * 32


def test_rgb_mask_is_named(ds):
    path = ds / 'val' / 'val_mask' / '2.png'
    Image.new('RGB', (32, 32)).save(path)
    with pytest.raises(DataError, match='2.png.*RGB'):
        stats.class_pixel_counts(ds, 'val', progress=False)


def test_weights_from_crafted_counts():
    counts = np.zeros((2, NUM_CLASSES + 1), np.int64)
    counts[0, :NUM_CLASSES] = 10  # image 0: every class 10 px (190 px)
    counts[1, 0] = 90             # image 1: background 90, skin 10 (100 px)
    counts[1, 1] = 10
    # median frequency: freq(c) = pixels of c / pixels of images containing c
    freq = np.full(NUM_CLASSES, 10 / 190)
    freq[0] = 100 / 290
    freq[1] = 20 / 290
    w = np.median(freq) / freq
    np.testing.assert_allclose(stats.weights_from_counts(counts, 'median_freq'), w / w.mean())
    # inverse square root of the share of all pixels
    share = np.full(NUM_CLASSES, 10 / 290)
    share[0], share[1] = 100 / 290, 20 / 290
    w = 1 / np.sqrt(share)
    np.testing.assert_allclose(stats.weights_from_counts(counts, 'inv_sqrt'), w / w.mean())
    with pytest.raises(ValueError, match='unknown'):
        stats.weights_from_counts(counts, 'log')


def test_absent_class_gets_largest_weight():
    counts = np.ones((3, NUM_CLASSES + 1), np.int64) * 5
    counts[:, 0] = 100
    counts[:, CLASSES.index('hat')] = 0
    with pytest.warns(UserWarning, match='hat'):
        w = stats.weights_from_counts(counts, 'inv_sqrt')
    assert w[CLASSES.index('hat')] == pytest.approx(w.max())
    assert w.mean() == pytest.approx(1.0)


def test_compute_class_weights(ds):
    for method in WEIGHT_METHODS:
        w = stats.compute_class_weights(ds, method=method, split='train')
        assert isinstance(w, list) and len(w) == NUM_CLASSES and all(isinstance(v, float) for v in w)
        assert np.mean(w) == pytest.approx(1.0, abs=1e-3)
        counts = stats.class_pixel_counts(ds, 'train', progress=False)
        assert w[0] < w[CLASSES.index('nose')]  # background is the most frequent, nose far rarer
        assert counts.shape == (20, NUM_CLASSES + 1)
    with pytest.raises(ValueError, match='median_freq'):
        stats.compute_class_weights(ds, method='log')


def test_frequencies_and_weight_table(ds):
    freq = stats.class_frequencies(ds, ('train', 'val'), progress=False)
    assert list(freq.index) == list(CLASSES)
    assert freq['train pixels'].sum() == pytest.approx(1.0)
    counts = _independent_counts(ds / 'val' / 'val_mask')
    presence = (np.stack(list(counts.values())) > 0).mean(axis=0)
    np.testing.assert_allclose(freq['val images'].to_numpy(), presence)
    table = stats.weight_table(ds)
    assert list(table['seed']) == seed_class_weights()
    np.testing.assert_allclose(table['median_freq'], stats.compute_class_weights(ds, 'median_freq'), atol=1e-4)
    html = stats.weight_table(ds, styled=True).to_html()
    assert 'median_freq' in html and 'inv_sqrt' in html


def test_rare_class_images(ds):
    table = stats.rare_class_images(ds, stats.RARE_CLASSES, splits=('train', 'val'))
    expected = set()
    for split in ('train', 'val'):
        for p in (ds / split / f'{split}_mask').iterdir():
            if set(np.unique(np.asarray(Image.open(p)))) & {CLASSES.index(c) for c in stats.RARE_CLASSES}:
                expected.add((split, p.name))
    assert set(table.index) == expected
    with pytest.raises(ValueError, match='unknown classes'):
        stats.rare_class_images(ds, ['beard'])


def test_figures(ds):
    import matplotlib.pyplot as plt

    fig = stats.plot_class_frequencies(ds)
    assert [ax.get_yscale() for ax in fig.axes] == ['log', 'log']
    assert len(fig.axes[0].patches) == 2 * NUM_CLASSES
    fig2 = stats.overlay_grid(ds, 'val', n=3)
    assert len(fig2.axes) == 9
    assert len(fig2.legends[0].get_texts()) == NUM_CLASSES
    fig3 = stats.rare_class_grid(ds, ('hat', 'eye_g'), per_class=3)
    assert len(fig3.axes) == 6
    fig4 = stats.plot_class_weights(ds)
    assert len(fig4.axes[0].patches) == 3 * NUM_CLASSES
    for f in (fig, fig2, fig3, fig4):
        plt.close(f)


def test_cli(ds, tmp_path, capsys):
    rc = stats.main([str(ds), '--figures', str(tmp_path / 'figs'), '--quiet'])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert 'median_freq' in out and 'neck_l' in out
    assert sorted(p.name for p in (tmp_path / 'figs').iterdir()) == [
        'class_frequency.png', 'class_weights.png', 'overlays.png', 'rare_classes.png']
    (tmp_path / 'empty').mkdir()
    rc = stats.main([str(tmp_path / 'empty'), '--quiet'])
    out, err = capsys.readouterr()
    assert rc == 2 and err.startswith('error:') and 'Traceback' not in err


def test_seed_weights_come_from_the_seed_config():
    """Stated once, in the seed config (seed report, Figure 2); the tables read them from there."""
    weights = seed_class_weights()
    assert len(weights) == NUM_CLASSES
    assert weights[CLASSES.index('neck_l')] == 1.5 and weights[0] == 0.8 and weights[CLASSES.index('hat')] == 1.2
