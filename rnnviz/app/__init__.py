"""The dashboard's Streamlit side: shared widgets, caches and one module per view.

It lives inside the package so ``python -m rnnviz`` and an installed rnnviz find it, but
``import rnnviz`` never imports it (nor Streamlit): the library stays usable in a notebook or a
training job. ``app.py`` at the project root only wires these pieces together.
"""
