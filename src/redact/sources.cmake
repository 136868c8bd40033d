# redact/: PII redaction (PCRE2 through regex/), used by store/ (evidence),
# llm/ (prompts) and score/.
list(APPEND CS_CORE_SOURCES src/redact/redact.c)
