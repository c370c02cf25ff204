"""The access report and the pictures: ``kubetrust report`` and ``kubetrust graph --output svg``.

- ``layout``: where each node of the access graph goes and how each edge runs, computed in
  Python with igraph's layered (Sugiyama) layout, so that nothing has to be installed by
  hand (no Graphviz) and the browser only draws;
- ``svg``: the laid-out graph as one SVG document (``graph --output svg``, and the picture
  inside the report);
- ``ids``: the element ids (``n1``…, ``e1``…) the SVG, the report's data and its script share;
- ``data``: what the report shows, decided by explain and audit (nothing is decided here);
- ``html``: one self-contained HTML file (CSS, script, SVG and data inline; no network).

Pure, like ``explain``: no SDK, no server, no CLI library.
"""
