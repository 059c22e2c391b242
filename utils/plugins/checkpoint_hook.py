"""MMEngine's CheckpointHook, except that a failed save of a new best checkpoint keeps the previous best.

MMEngine deletes the previous ``best_*.pth`` *before* it writes the new one, so a Drive that fills up (or goes
away) at that moment loses both. Here the previous best is moved aside first and only deleted once the new one
is complete; if the save fails, the half-written file is removed and the previous best put back. Training uses
it in place of ``CheckpointHook`` (:func:`utils.train.build_runner`); the configs keep MMSeg's name.
"""
from __future__ import annotations

import os
from pathlib import Path

from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """``CheckpointHook`` whose best checkpoint is replaced only by a complete new one."""

    def before_train(self, runner) -> None:
        super().before_train(runner)
        restore_previous_best(self.out_dir)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        previous = [Path(p) for p in ([self.best_ckpt_path] if getattr(self, 'best_ckpt_path', None) else [])
                    + list((getattr(self, 'best_ckpt_path_dict', None) or {}).values()) if os.path.isfile(p)]
        aside = {p: p.with_name(f'.{p.name}.previous') for p in previous}
        for path, moved in aside.items():
            os.replace(path, moved)  # MMEngine finds no file to delete; the old best waits here
        try:
            super()._save_best_checkpoint(runner, metrics)
        except BaseException:
            from utils.core.checkpoints import CheckpointError, check_checkpoint_file

            for path in Path(getattr(self, 'out_dir', None) or runner.work_dir).glob('best_*.pth'):
                if path not in aside:
                    try:
                        check_checkpoint_file(path)
                    except CheckpointError:
                        path.unlink(missing_ok=True)  # the half-written new best
            for path, moved in aside.items():
                if moved.exists():
                    os.replace(moved, path)
            raise
        current = {Path(p) for p in [getattr(self, 'best_ckpt_path', None),
                                     *(getattr(self, 'best_ckpt_path_dict', None) or {}).values()] if p}
        for path, moved in aside.items():
            if path in current and not path.exists():  # no better score this time: the old best goes back
                os.replace(moved, path)
            else:  # a complete new best replaced it
                moved.unlink(missing_ok=True)


def restore_previous_best(folder) -> list[Path]:
    """Put back a previous best checkpoint that a killed run left moved aside (``.best_*.pth.previous``), unless its
    place is taken; returns what it put back. Training calls it before it starts (a Colab disconnect can fall
    between moving the old best aside and writing the new one)."""
    restored = []
    for moved in Path(folder).glob('.best_*.pth.previous'):
        target = moved.with_name(moved.name[1:-len('.previous')])
        if target.exists():
            moved.unlink(missing_ok=True)
        else:
            os.replace(moved, target)
            restored.append(target)
    return restored
