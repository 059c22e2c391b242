"""What the training curves say about overfitting, from the logged numbers (utils.core.metrics.Scalars): the facts
(:func:`loss_trend`) and the one sentence that both a notebook's reading (utils.notebook.narrate) and the report draft
(utils.handin) say about them (:func:`overfitting`)."""
from __future__ import annotations

from typing import Any


def loss_trend(scalars: Any, tolerance: float = 0.02) -> dict[str, Any] | None:
    """What the validation loss did, from the logged numbers: its lowest value and iteration, its last value, the
    training loss over the same span, and whether it *rose* after its lowest point by more than ``tolerance``
    (relative) while the training loss kept falling: the one pattern that reads as overfitting. None without a
    logged validation loss."""
    va = scalars.val
    if 'val_loss' not in va or not va['val_loss'].notna().any():
        return None
    va = va.dropna(subset=['val_loss'])
    low = va.loc[va['val_loss'].idxmin()]
    last = va.iloc[-1]
    tr = scalars.train
    after = tr[(tr['step'] >= low['step'])]['loss'] if 'loss' in tr and len(tr) else tr.iloc[:0, 0]
    train_fell = len(after) > 1 and after.iloc[-max(1, len(after) // 5):].mean() < after.iloc[0]
    rose = bool(last['step'] > low['step'] and last['val_loss'] > low['val_loss'] * (1 + tolerance))
    return {'low_step': int(low['step']), 'low': float(low['val_loss']), 'last_step': int(last['step']),
            'last': float(last['val_loss']), 'first': float(va['val_loss'].iloc[0]), 'rose': rose,
            'train_fell': bool(train_fell), 'overfitting': rose and bool(train_fell), 'validations': len(va)}


def overfitting(scalars: Any) -> str:
    """One sentence on overfitting, from the validation loss (:func:`loss_trend`): overfitting only where the val
    loss rose after its lowest point while the training loss still fell; a val loss still falling is no sign."""
    t = loss_trend(scalars)
    if t is None:
        return 'No validation loss was logged, so the curves cannot say whether the model overfits.'
    if t['overfitting']:
        return (f'The validation loss was lowest at iteration {t["low_step"]:,} ({t["low"]:.3f}) and rose to '
                f'{t["last"]:.3f} by {t["last_step"]:,} while the training loss kept falling: the model overfits '
                'from there on, so the best checkpoint, not the last, is the one to submit.')
    if t['rose']:
        return (f'The validation loss rose from its lowest, {t["low"]:.3f} at iteration {t["low_step"]:,}, to '
                f'{t["last"]:.3f} at {t["last_step"]:,}, but the training loss did not fall meanwhile: that is '
                'noise or a high learning rate, not overfitting.')
    if t['last_step'] == t['low_step']:
        return (f'The validation loss fell from {t["first"]:.3f} to {t["last"]:.3f} and was lowest at the last '
                f'validation ({t["last_step"]:,}): no sign of overfitting; a longer schedule could still help.')
    return (f'The validation loss was lowest at iteration {t["low_step"]:,} ({t["low"]:.3f}) and stayed within '
            f'{100 * (t["last"] / t["low"] - 1):.1f}% of it to the end ({t["last"]:.3f}): it levelled off, with no '
            'sign of overfitting.')
