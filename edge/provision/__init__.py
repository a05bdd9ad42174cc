"""`edge provision`: a technician's set-up of one gateway, interactive or from a manifest.

`manifest.py` (what is asked for) → `certificates.py` (checked, installed) → `plan.py` (the new
config, merged into the old one, pure) → `checks.py` (a broker round trip and each device's
stream) → `files.py` (written atomically). `session.py` runs them in that order.
"""
