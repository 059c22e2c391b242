# The improved pipeline (celebamask_flipswap-aug.py) plus a random rotation of up to +-25 degrees (half the
# images), after the crop: MMSeg's RandomRotate, the corners it uncovers padded with black and labelled 255
# (ignored by the losses). An option for the transformer recipes: swap it in as their dataset base.
_base_ = './celebamask_flipswap-aug.py'
rotate = dict(type='RandomRotate', prob=0.5, degree=25, pad_val=0, seg_pad_val=255)
train_pipeline = [*_base_.train_pipeline[:5], rotate, *_base_.train_pipeline[5:]]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
