"""The Nessus REST client: the Tenable policies client that Nessus and Tenable VM share
(`scanguard_tenable_policy.PolicyClient`), with what only Nessus says: Nessus Professional refuses
its API with HTTP 412, and the message then tells the admin what to import instead."""

from __future__ import annotations

from scanguard_tenable_policy import PolicyClient

PROFESSIONAL_HINT = (
    "The API is unavailable on Nessus Professional (HTTP 412): policies cannot be managed remotely. Import the "
    "exported policy file instead (`scanguard render --vendor nessus --out DIR` writes "
    "DIR/nessus/<template>.policy.nessus) and add the <template>.nessusd.rules snippet to nessusd.rules")


class NessusClient(PolicyClient):
    """Nessus (Manager) policies over the REST API; implements scanguard.ScannerClient."""

    product = "Nessus"
    example_url = "https://nessus:8834"
    user_agent = "scanguard-nessus"
    hints = {412: PROFESSIONAL_HINT}
