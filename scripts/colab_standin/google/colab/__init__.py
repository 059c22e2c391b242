"""A stand-in for Colab's ``google.colab`` in headless runs of the notebooks (scripts/run_notebooks.py).

Only what the notebooks use: ``drive.mount`` and ``files.download``. Configured by environment variables that
the harness sets for each runtime: STANDIN_DRIVE (the persistent folder that plays MyDrive), STANDIN_DOWNLOADS
(where downloads land) and STANDIN_DRIVE_FAIL (set: mounting fails, as when the user declines the pop-up).
"""
