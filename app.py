"""ragloom's web app from a checkout: `streamlit run app.py` (installed: `ragloom ui`).

The app itself is ``ragloom/ui/app.py`` (the ``ui/`` folder), shipped in the wheel.
"""

from ragloom.ui.app import main

main()
