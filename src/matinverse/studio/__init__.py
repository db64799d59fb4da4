"""``matinverse studio``: a local web app over the design functions (see :mod:`.app`)."""
