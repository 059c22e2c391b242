"""Does evaluation keep pace with the model? Evaluate and submit around a stand-in model of known speed.

    python scripts/bench_evaluate.py [--images 64] [--size 512] [--model-ms 50] [--tta flip] [--out bench.json]

The stand-in "model" sleeps ``--model-ms`` per image and view (50 ms ~ a T4 forward of DeepLabV3+ R50 at
512 px with AMP) and returns a label map, so everything else that ``utils.evaluate.evaluate`` and
``utils.submit.predict_folder`` do per image (reading images and ground truth, scoring, saving PNGs)
shows as time above the model's. Reported: wall time / model time for each (1.0 = the model never
waits). Synthetic 512 px faces, written once to a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from utils.core.inference import tta_views  # noqa: E402


class SleepySegmenter:
    """Quacks like utils.core.inference.Segmenter: ``predict`` sleeps a fixed time per image and view."""

    def __init__(self, model_ms: float, size: int) -> None:
        import torch

        self.model = torch.nn.Conv2d(3, 19, 1)
        self.device, self.amp, self.test_size = 'cpu', False, (size, size)
        self.seconds = model_ms / 1000
        self.calls = 0

    def predict(self, images, tta: str = 'none'):
        time.sleep(self.seconds * tta_views(tta) * len(images))
        self.calls += len(images)
        out = []
        for img in images:  # a plausible label map: blocky regions like a real prediction (compresses alike)
            h, w = img.shape[:2]
            coarse = (img[::16, ::16, 0] // 14).astype(np.uint8)
            out.append(np.ascontiguousarray(coarse.repeat(16, 0).repeat(16, 1)[:h, :w]))
        return out


def run(images: int = 64, size: int = 512, model_ms: float = 50.0, tta: str = 'flip', batch_size: int = 8) -> dict:
    import torch

    from utils.evaluate import evaluate
    from utils.submit import predict_folder
    from utils.core.synthetic import make_synthetic_dataset

    model_s = images * tta_views(tta) * model_ms / 1000
    out: dict = dict(images=images, size=size, model_ms_per_view=model_ms, tta=tta, batch_size=batch_size,
                     model_seconds=model_s)
    with tempfile.TemporaryDirectory(prefix='bench-eval-') as tmp:
        root = make_synthetic_dataset(Path(tmp) / 'data', 0, images, images, size=size, progress=False)
        torch.save({'state_dict': {'w': torch.zeros(1)}}, ckpt := Path(tmp) / 'stand_in.pth')
        seg = SleepySegmenter(model_ms, size)
        t = time.perf_counter()
        evaluate(ckpt, root, tta=tta, out_dir=Path(tmp) / 'eval', flops=False, batch_size=batch_size,
                 progress=False, segmenter=seg)
        out['evaluate_seconds'] = time.perf_counter() - t
        seg = SleepySegmenter(model_ms, size)
        t = time.perf_counter()
        predict_folder(ckpt, root / 'test' / 'test_image', Path(tmp) / 'masks', tta=tta, batch_size=batch_size,
                       progress=False, segmenter=seg)
        out['submit_seconds'] = time.perf_counter() - t
    out['evaluate_ratio'] = out['evaluate_seconds'] / model_s
    out['submit_ratio'] = out['submit_seconds'] / model_s
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--images', type=int, default=64, help='val and test images (default 64)')
    p.add_argument('--size', type=int, default=512, help='image size in px (default 512, the course size)')
    p.add_argument('--model-ms', type=float, default=50.0, help='stand-in model time per image and view (ms)')
    p.add_argument('--tta', default='flip', choices=['none', 'flip', 'ms'], help='views per image (default flip)')
    p.add_argument('--batch-size', type=int, default=8, help='images per model call (default 8)')
    p.add_argument('--out', help='save the result as JSON here')
    a = p.parse_args(argv)
    r = run(a.images, a.size, a.model_ms, a.tta, a.batch_size)
    print(f"{a.images} images at {a.size}px, tta={a.tta}, stand-in model {a.model_ms:.0f} ms per image and view "
          f"= {r['model_seconds']:.1f} s of model time")
    print(f"  evaluate: {r['evaluate_seconds']:.2f} s = {r['evaluate_ratio']:.2f}x the model time")
    print(f"  submit:   {r['submit_seconds']:.2f} s = {r['submit_ratio']:.2f}x the model time")
    if a.out:
        Path(a.out).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
