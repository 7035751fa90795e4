"""Sphinx configuration of the documentation site: `make docs` (see the README's "Documentation site").

Sphinx reads the notebooks with myst-nb (execution off: they come executed, see gmw_docs.py), the API pages with
autodoc, and furo draws the pages; everything the site needs (fonts, scripts, the search index) is in the built
folder."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).parent))

project = 'gmwidgets'
author = 'gmwidgets developers'
copyright = '2026, gmwidgets developers'
extensions = ['myst_nb', 'sphinx.ext.autodoc', 'gmw_docs']
root_doc = 'index'
exclude_patterns = ['_build', '**.ipynb_checkpoints', 'jupyter_execute']

html_theme = 'furo'
html_title = 'gmwidgets'
html_theme_options = {'navigation_with_keys': True}
html_static_path = []
html_favicon = 'favicon.svg'       # else the browser asks for /favicon.ico (a 404)
html_copy_source = False        # the notebooks are not served a second time as sources
html_show_sourcelink = False
html_show_search_summary = False  # summaries are fetched page by page, which browsers refuse to file:// pages

nb_execution_mode = 'off'       # the notebooks arrive executed (the kernel tier's copies, or run once by gmw_docs)
nb_ipywidgets_js = {}           # no require.js or widget manager from a CDN: widgets arrive drawn as images
nb_merge_streams = True
myst_heading_anchors = 3
myst_enable_extensions = []     # no dollar math: MathJax would come from a CDN

autodoc_member_order = 'bysource'
autodoc_typehints = 'signature'
autodoc_preserve_defaults = True
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type']
