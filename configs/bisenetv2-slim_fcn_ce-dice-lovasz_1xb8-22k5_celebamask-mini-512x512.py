# 2025-26 flagship (RECIPE = 'bisenetv2-slim'): BiSeNetV2 slimmed to 1,800,783 parameters with its four auxiliary
# heads (98.9 % of the cap of 1,821,085), trained from scratch on the 900 training pairs, validated on the
# 100-pair holdout by the leaderboard's per-image F. See the bases for the evidence behind each choice.
_base_ = [
    './_base_/models/bisenetv2_slim.py',
    './_base_/datasets/celebamask_mini.py',
    './_base_/default_runtime.py',
    './_base_/schedules/schedule_22k5_adamw_poly.py',
]
edition = '2025'  # the small-model rules apply whatever the command line says (utils.core.rules.check_edition_rules)
width = 1.0  # scales every channel list of the model (python -m utils.core.model fit-budget CONFIG sizes it to the cap)
