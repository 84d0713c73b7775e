"""The rules of the Capillary documents, over a store: no HTTP, no SQL.

Each operation is a function that takes the store and validated, typed inputs, and
returns the Capillary response body; a refusal is a DomainError carrying the code the
operation documents.
"""
