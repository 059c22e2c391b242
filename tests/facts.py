"""Numbers the tests check the code against, each stated once, with where it comes from."""
#: Trainable parameters of the seed model (DeepLabV3+ R50-D8 with its FCN aux head, 19 classes), by the course
#: formula sum(p.numel() for p in model.parameters() if p.requires_grad): the reference report prints it.
SEED_PARAMS = 43_589_878
#: The same without the auxiliary head (counted when the seed recipe was first built).
SEED_PARAMS_WITHOUT_AUX = 41_225_187
#: The transformer recipes by the same formula (issue 18's measurements on MMSeg 1.2.2): UperNet + Swin-B window12
#: with its auxiliary head, and SegFormer MiT-B3.
RECIPE_PARAMS = {'swin-b': 121_314_206, 'segformer-b3': 44_603_859}
