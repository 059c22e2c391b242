"""Floor 4, the notebooks' face: what a notebook cell calls (imports every floor below it).

``session`` (a notebook on its own Colab runtime: settings, GPU and Drive checks, the dataset copy), ``workflow``
(the run's plan), ``parameters`` (each notebook parameter declared once), ``steps`` (what 02-05 do after their
set-up), ``handin`` (what 06 does), ``narrate`` (the readings said after each result), ``widgets`` (04's inspector),
``fscore_views`` (04's per-image F tables and figures), ``cells`` (one message instead of a traceback).
"""
