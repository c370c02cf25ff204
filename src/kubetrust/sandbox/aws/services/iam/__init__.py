"""IAM beyond moto: ``conflicts`` (DeleteConflict, case-insensitive names) and ``reads``
(IAM's and S3's answers as AWS gives them). Its action mapping is in ``services.query``."""
