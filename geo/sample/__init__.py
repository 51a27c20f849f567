"""The built-in, entirely fictional sample district (:mod:`~geo.sample.build`)."""
