"""The bundled digital-twin fabric: stateful device emulators on loopback, reached over the
same eAPI and SSH transports (and the same client libraries) as real switches and hosts."""
