"""The example project's pipelines: one module each, each with its own ``defs``.

``example_project/defs.py`` puts them together with ``Definitions.merge``.
"""
