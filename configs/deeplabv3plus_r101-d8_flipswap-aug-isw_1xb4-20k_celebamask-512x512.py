# Improved recipe, stronger backbone: ResNet-101-v1c (ImageNet-1k weights from MMSeg's usual
# `open-mmlab://resnet101_v1c` URL, downloaded at train time in Colab; no compiled ops needed).
# Everything else as deeplabv3plus_r50-d8_flipswap-aug-isw. About 1.5x the compute of R50 per
# iteration (docs/BENCHMARKS.md), so 20k R101 iterations cost about the seed's 30k R50 ones in FP32,
# and less with `--amp`. Evaluate with `--tta flip`.
_base_ = ['./deeplabv3plus_r50-d8_flipswap-aug-isw_1xb4-20k_celebamask-512x512.py']
model = dict(pretrained='open-mmlab://resnet101_v1c', backbone=dict(depth=101))
