# llm/: prompt and JSON schema building, answer validation (pure functions;
# the HTTP client lives in net/).
list(APPEND CS_CORE_SOURCES src/llm/prompt.c src/llm/answer.c src/llm/explain.c
     src/llm/cost.c src/llm/batch.c)
