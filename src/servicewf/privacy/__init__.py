"""Data protection built in (002 ch.7, 003 ch.5, 001 §4.4; PIPL; GDPR Art. 17/30/32).

One field-classification :class:`Catalogue` per process (personal, sensitive personal,
financial, internal; which roles may see each class) drives:

* **sealing**: personal fields are stored encrypted under a per-subject key
  (:mod:`servicewf.privacy.vault`), so erasing a subject is deleting its keys
  (crypto-shredding) while the append-only history stays replayable;
* **role-aware views** of cases and histories and a masking hook for exports and reports
  (:meth:`Privacy.view`, :meth:`Privacy.history`, :meth:`Privacy.masker`), with masking
  operators (:mod:`servicewf.privacy.masking`) and free-text recognisers
  (:mod:`servicewf.privacy.recognisers`);
* the **access audit** of every unmasked read (:mod:`servicewf.privacy.access`);
* **consent** as a process of its own (:mod:`servicewf.privacy.consent`);
* **erasure** and **retention** purges as audited engine commands (:meth:`Privacy.erase`,
  :meth:`Privacy.purge`).

A package above the engine: it uses the engine's extension points (a case processor,
registered event kinds) and changes nothing in the core. See docs/privacy.md.
"""

from servicewf.privacy.access import AccessLog, AccessRecord, MemoryAccessLog
from servicewf.privacy.catalogue import (
    DEFAULT_VISIBILITY,
    Catalogue,
    Catalogues,
    FieldClass,
    FieldRule,
    builtin_catalogues,
)
from servicewf.privacy.consent import (
    CONSENT_PROCESS,
    ConsentLedger,
    ConsentRecord,
    consent_case_id,
    consent_definition,
)
from servicewf.privacy.core import (
    MIN_RETENTION_YEARS,
    PERSONAL_DATA_ERASED,
    RETENTION_PURGED,
    Masker,
    Privacy,
    PrivacyProcessor,
    RedactingFilter,
    RetentionPolicy,
)
from servicewf.privacy.masking import Encrypt, Mask, PartialMask, Pseudonym, Redact, keyed_hash
from servicewf.privacy.recognisers import Finding, find_personal, redact_text
from servicewf.privacy.vault import ERASED, KeyRecord, KeyVault, MemoryVault, is_sealed

__all__ = [
    "CONSENT_PROCESS",
    "DEFAULT_VISIBILITY",
    "ERASED",
    "MIN_RETENTION_YEARS",
    "PERSONAL_DATA_ERASED",
    "RETENTION_PURGED",
    "AccessLog",
    "AccessRecord",
    "Catalogue",
    "Catalogues",
    "ConsentLedger",
    "ConsentRecord",
    "Encrypt",
    "FieldClass",
    "FieldRule",
    "Finding",
    "KeyRecord",
    "KeyVault",
    "Mask",
    "Masker",
    "MemoryAccessLog",
    "MemoryVault",
    "PartialMask",
    "Privacy",
    "PrivacyProcessor",
    "Pseudonym",
    "Redact",
    "RedactingFilter",
    "RetentionPolicy",
    "builtin_catalogues",
    "consent_case_id",
    "consent_definition",
    "find_personal",
    "is_sealed",
    "keyed_hash",
    "redact_text",
]
