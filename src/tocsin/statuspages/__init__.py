"""Public and internal status pages: components, their history, published incidents, maintenance, subscribers."""
