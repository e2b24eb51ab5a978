"""Where bytes come from: a file on disk (``file.py``), byte ranges (``blob.py``), directory trees (``tree.py``),
archives (``archive.py``), container images (``image.py``), the filesystem view of any of them (``fsview.py``) and
checksum manifests (``checksums.py``)."""
