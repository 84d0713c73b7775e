"""capkit: a stateful mock and contract tests for the Capillary loyalty v2 API."""
