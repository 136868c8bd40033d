# regex/: the only PCRE2 code (compile, check, match), below rubric/,
# redact/ and score/.
list(APPEND CS_CORE_SOURCES src/regex/regex.c)
