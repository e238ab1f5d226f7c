"""Built-in pre-scan checks (scanguard check). The core checks are added with the check command."""
