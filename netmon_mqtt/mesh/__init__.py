"""Several probes, one inventory: each instance's view of the others on a shared broker."""
