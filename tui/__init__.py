"""opsconsole: a keyboard-first terminal console for production support.

This package is deliberately empty of imports: ``opsconsole.sources`` and the other
headless modules must be importable without pulling in textual.
"""

__version__ = "0.1.0"
