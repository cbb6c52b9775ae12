"""tgnrank: Temporal Graph Networks that rank future investor-company links.

Importing the package changes nothing in the process; the command-line entry points set the OpenMP
wait policy (see :mod:`tgnrank.openmp`).
"""

__version__ = "0.1.0"
