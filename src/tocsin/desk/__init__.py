"""The service desk: reports by people, service requests, and their conversion to and from incidents (ADR 0024)."""
