"""The local status page: plain words for the patient, a technician view, behind a PIN."""
