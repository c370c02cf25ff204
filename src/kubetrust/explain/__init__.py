"""Explain, verify and audit: prove each link of a chain over a topology (live, bundle or
sandbox), say why a link fails and how to fix it, and flag least-privilege problems.

``explain`` walks one chain hop by hop, ``fixes*`` word the fixes, ``trust_analysis`` reads
trust policies, ``access_graph``/``graph_render`` draw who can reach what, ``audit/`` holds the
least-privilege rules, ``bundle``/``worlds`` load the inputs, ``verify_model`` checks a spec's
promises against a topology."""
