# Served at GET /version: edit it while `devloop up` runs and a new revision serves the new value.
VERSION = "0.1.0"
