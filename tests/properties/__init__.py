"""Property-based and soak tests of the provisioning guarantees (issue 6)."""
