/* usage.c - what LLM scoring runs used, recorded per run */
#include "store/usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

int cs_store_llm_usage_add(struct cs_store *st, const char *model,
                           const char *mode, const struct cs_llm_usage *u,
                           struct cs_err *err)
{
    char num[7][32];
    const char *params[9];
    PGresult *r;
    int ret = 0;

    snprintf(num[0], sizeof(num[0]), "%llu", (unsigned long long)u->requests);
    snprintf(num[1], sizeof(num[1]), "%llu",
             (unsigned long long)u->prompt_est);
    snprintf(num[2], sizeof(num[2]), "%llu", (unsigned long long)u->prompt);
    snprintf(num[3], sizeof(num[3]), "%llu", (unsigned long long)u->cached);
    snprintf(num[4], sizeof(num[4]), "%llu",
             (unsigned long long)u->completion);
    snprintf(num[5], sizeof(num[5]), "%llu", (unsigned long long)u->metrics);
    snprintf(num[6], sizeof(num[6]), "%.17g", u->cost);
    params[0] = model;
    params[1] = mode;
    for (int i = 0; i < 7; i++)
        params[i + 2] = num[i];
    r = PQexecParams(st->conn, "INSERT INTO llm_usage (model, mode, "
                     "requests, prompt_est, prompt_tokens, cached_tokens, "
                     "completion_tokens, metrics, cost) VALUES ($1, $2, "
                     "$3::bigint, $4::bigint, $5::bigint, $6::bigint, "
                     "$7::bigint, $8::bigint, $9::float8)", 9, NULL, params,
                     NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        ret = cs_store_pg_err(err, st->conn, r, "cannot record llm usage");
    PQclear(r);
    return ret;
}

int cs_store_llm_usage_recent(struct cs_llm_usage *out, struct cs_store *st,
                              const char *model, const char *mode, int runs,
                              struct cs_err *err)
{
    char n[16];
    const char *params[3] = {model, mode, n};
    PGresult *r;
    int ret = 0;

    memset(out, 0, sizeof(*out));
    snprintf(n, sizeof(n), "%d", runs);
    r = PQexecParams(st->conn, "SELECT coalesce(sum(requests), 0), "
                     "coalesce(sum(prompt_est), 0), "
                     "coalesce(sum(prompt_tokens), 0), "
                     "coalesce(sum(cached_tokens), 0), "
                     "coalesce(sum(completion_tokens), 0), "
                     "coalesce(sum(metrics), 0), coalesce(sum(cost), 0) "
                     "FROM (SELECT * FROM llm_usage WHERE model = $1 AND "
                     "mode = $2 ORDER BY id DESC LIMIT $3::int) AS u", 3,
                     NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        ret = cs_store_pg_err(err, st->conn, r, "cannot read llm usage");
    } else {
        out->requests = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        out->prompt_est = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        out->prompt = strtoull(PQgetvalue(r, 0, 2), NULL, 10);
        out->cached = strtoull(PQgetvalue(r, 0, 3), NULL, 10);
        out->completion = strtoull(PQgetvalue(r, 0, 4), NULL, 10);
        out->metrics = strtoull(PQgetvalue(r, 0, 5), NULL, 10);
        out->cost = strtod(PQgetvalue(r, 0, 6), NULL);
    }
    PQclear(r);
    return ret;
}
