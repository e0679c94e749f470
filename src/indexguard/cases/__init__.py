"""Reports and cases: one case per item, many signals; delist first, decide second."""
