"""IAM beyond moto: ``actions`` (the IAM action, resources and condition keys of each call),
``conflicts`` (DeleteConflict, case-insensitive names), ``reads`` (IAM's and S3's answers
as AWS gives them) and ``user_boundaries`` (IAM users' permissions boundaries, which moto
does not keep)."""
