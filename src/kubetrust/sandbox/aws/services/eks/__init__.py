"""EKS's API semantics: ``actions`` maps each call to the IAM actions, resources and
condition keys it needs; ``api`` is the access API moto does not emulate (access entries
in ``entries``, access policies in ``policies``, authentication modes in ``modes``, the
principals behind entries in ``principals``, shared values and texts in ``model``)."""
