# 2025-26 recipe 'lraspp-mv3s': MobileNetV3-small + Lite R-ASPP, 1,140,787 parameters (62.6 % of the cap), from
# scratch, with the flagship's data pipeline, losses and schedule.
_base_ = [
    './_base_/models/lraspp_mv3s_mini.py',
    './_base_/datasets/celebamask_mini.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_22k5_adamw_poly.py',
]
edition = '2025'  # the small-model rules apply whatever the command line says
width = 1.0  # scales the LR-ASPP head's channels (python -m utils.core.model fit-budget CONFIG)
