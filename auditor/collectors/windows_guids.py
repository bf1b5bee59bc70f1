"""Windows advanced audit policy subcategory GUIDs, the same in every language (Microsoft Learn:
"Audit policy subcategory GUIDs" / auditpol /list /subcategory:* /v)."""

from __future__ import annotations

# Advanced audit policy subcategory GUIDs (Microsoft: "Audit policy subcategory GUIDs"); names vary by language.
LOGON, USER_ACCOUNTS, SECURITY_GROUPS = ("{0CCE9215-69AE-11D9-BED3-505054503030}",
                                         "{0CCE9235-69AE-11D9-BED3-505054503030}",
                                         "{0CCE9237-69AE-11D9-BED3-505054503030}")
FILE_SYSTEM, SENSITIVE_PRIVILEGE, PROCESS_CREATION = ("{0CCE921D-69AE-11D9-BED3-505054503030}",
                                                      "{0CCE9228-69AE-11D9-BED3-505054503030}",
                                                      "{0CCE922B-69AE-11D9-BED3-505054503030}")
GUIDS = (LOGON, USER_ACCOUNTS, SECURITY_GROUPS, FILE_SYSTEM, SENSITIVE_PRIVILEGE, PROCESS_CREATION)
