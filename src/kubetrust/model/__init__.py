"""The modelled world as pure data: aws-auth maps, access entries, clusters, accounts.

Pure: values in, values out. No I/O, no clock, and no YAML library either: ``chain`` imports
``model`` and the import contract keeps ``yaml`` out of everything ``chain`` imports, so where
text must be decoded (aws-auth data values) the codec is passed in by the caller.
"""
