"""Turns small trained detectors into the model packages that the gateway's runtime loads."""
