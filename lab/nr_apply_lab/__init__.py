"""The bundled digital-twin fabric: stateful device emulators on loopback, reached over the
same eAPI and SSH transports (and the same client libraries) as real switches and hosts."""

# Documented lab-only credentials (README "The lab"). Never use them on a real fabric; the
# lab accepts nothing else, so a test can search every artifact of a run for the password.
LAB_USERNAME = "admin"
LAB_PASSWORD = "Lossless!Lab42"
