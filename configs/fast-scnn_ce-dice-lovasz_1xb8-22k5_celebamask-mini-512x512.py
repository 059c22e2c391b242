# 2025-26 recipe 'fast-scnn': MMSeg's Fast-SCNN with its heads, 1,456,617 parameters (80.0 % of the cap), from
# scratch, with the flagship's data pipeline, losses and schedule.
_base_ = [
    './_base_/models/fast_scnn_mini.py',
    './_base_/datasets/celebamask_mini.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_22k5_adamw_poly.py',
]
edition = '2025'  # the small-model rules apply whatever the command line says
width = 1.0  # scales the model's channel lists (python -m utils.core.model fit-budget CONFIG)
