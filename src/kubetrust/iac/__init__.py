"""Infrastructure as code as an input: Terraform plans and CloudFormation templates (issue 16).

Teams write the chain in Terraform or CloudFormation and learn it is broken after deploying.
This package reads what they have *before* ``apply`` and turns it into the same world the
rest of kubetrust reads: each reader (:mod:`.terraform`, :mod:`.cloudformation`) yields an
:class:`~kubetrust.iac.model.IacWorld` — a world in the compact format of
:mod:`kubetrust.explain.worlds` (accounts, roles, providers, clusters, aws-auth, access entries,
associations, service accounts), the resources it deletes, and where each thing was declared
(a plan's resource address, a template's file and line) — which explain, audit and graph load
alone or as an overlay on a bundle or a live snapshot (:mod:`kubetrust.explain.overlay`).

Values known only after apply (an issuer URL, an ARN) are never guessed: they become
*symbolic* placeholders that stay equal wherever the inputs tie them together (a cluster's
issuer feeding its OIDC provider and a trust condition key), and that the renderers show as
"known after apply (ADDRESS.ATTRIBUTE)" (:mod:`.symbolic`).

Pure: files in, values out; YAML through :mod:`kubetrust.yaml_codec` only.
"""
