"""HTTP helpers every view uses: problem details, parsing, auth, OpenAPI, caching headers."""
