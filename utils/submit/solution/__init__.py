"""The leaderboard's standalone solution (2025-26 rules): ``run.py`` with the network in plain PyTorch, its weights
(``ckpt.pth``) and ``requirements.txt``; the exporter that writes them from a trained MMSeg model, and the proof that
they reproduce the submitted masks in a fresh environment."""
from utils.submit.solution.export import ExportError, describe, export_state_dict, plain_network, write_solution

__all__ = ['ExportError', 'describe', 'export_state_dict', 'plain_network', 'write_solution']
