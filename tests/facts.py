"""Numbers the tests check the code against, each stated once, with where it comes from."""
#: Trainable parameters of the seed model (DeepLabV3+ R50-D8 with its FCN aux head, 19 classes), by the course
#: formula sum(p.numel() for p in model.parameters() if p.requires_grad): the reference report prints it.
SEED_PARAMS = 43_589_878
#: The same without the auxiliary head (DESIGN.md).
SEED_PARAMS_WITHOUT_AUX = 41_225_187
