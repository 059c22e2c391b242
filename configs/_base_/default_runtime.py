# Runtime shared by every config: logging, visualisation, environment. (MMSeg's default_runtime, adapted.)
default_scope = 'mmseg'
custom_imports = dict(imports=['utils.plugins.dataset', 'utils.plugins.transforms', 'utils.plugins.schedules',
                               'utils.plugins.losses', 'utils.plugins.live', 'utils.plugins.record',
                               'utils.plugins.val_metric', 'utils.plugins.heads'],
                      allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=True,  # fixed 512x512 inputs: let cuDNN pick the fastest kernels
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
# Course rule: ImageNet-1k pre-trained weights only. Training refuses other weights and a foreign load_from
# (utils.core.pretrained.check_course_rules); set False only for use outside the course.
course_rules = True
resume = False
# RunRecordHook: the machine, per-class val metrics and the val loss, kept in the work_dir for the hand-in (06)
custom_hooks = [dict(type='MomentumLoggerHook'), dict(type='RunRecordHook')]
test_tta = 'flip'  # the TTA that utils.evaluate, utils.submit and the notebooks use unless told otherwise
