list(APPEND CS_CORE_SOURCES src/net/http.c)
# The PII redactor belongs to score/ but is built from here, so that it can
# be developed and tested without the rest of score/ (see tests/net.cmake).
list(APPEND CS_CORE_SOURCES src/score/redact.c)
