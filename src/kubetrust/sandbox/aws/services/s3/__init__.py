"""S3: ``actions`` maps each call to the IAM actions, resources and condition keys it needs,
including virtual-hosted buckets."""
