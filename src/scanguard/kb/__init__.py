"""The knowledge base: learning the device from published advisories (CSAF 2.0) and MDS2 forms.

Documents are read (`csaf`, `mds2`), what they say takes a device down is extracted (`extract`,
`protocols`), turned into profile changes drafted against the workspace's profiles (`match`,
`drafts`), kept in the workspace's kb/ folder (`store`, `importer`), and count only once a person
accepts them (`decide`). `evaluate` measures the extractor against hand-written labels.
"""

from .decide import accept, default_user, reject
from .importer import import_documents
from .model import Advisory, Decision, Draft, Finding, ImportReport, Product, Target
from .store import KbError, KnowledgeBase

__all__ = ["Advisory", "Decision", "Draft", "Finding", "ImportReport", "KbError", "KnowledgeBase", "Product",
           "Target", "accept", "default_user", "import_documents", "reject"]
