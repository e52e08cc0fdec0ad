"""The dial-in page's benchmark (``python -m bench.ui``): see :mod:`bench.ui.__main__`."""
