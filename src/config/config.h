/* config.h - the config file, environment overrides and per-tenant settings */
#ifndef CS_CONFIG_CONFIG_H
#define CS_CONFIG_CONFIG_H

#include <stdio.h>

#include <jansson.h>

#include "base/err.h"

/*
 * The effective configuration (docs/config.md): embedded defaults,
 * then the JSON config file, then environment variables; command-line flags
 * are applied by the commands themselves. Every string is owned by the
 * struct and never NULL unless documented ("unset").
 */
struct cs_config {
    char *path;             /* the file read, or NULL when none existed */
    char *text;             /* its bytes (NUL-terminated), or NULL */
    char *database_url;     /* unset: the embedded cluster */
    char *data_dir;
    char *reports_dir;
    char *rubrics_dir;
    char *sentiment_lexicon;
    char *llm_base_url;     /* unset: offline rules evaluator */
    char *llm_model;
    char *llm_api_key;      /* secret: environment only */
    long llm_concurrency;
    long llm_timeout_s;
    long llm_connect_timeout_s;
    long llm_max_tries;
    long llm_context_tokens;
    double llm_price_in_per_1k;
    double llm_price_out_per_1k;
    double llm_price_cached_in_per_1k;  /* prompt tokens a cache served */
    double llm_batch_price_in_per_1k;   /* the same three in a batch
                                           (score --dry-run) */
    double llm_batch_price_out_per_1k;
    double llm_batch_price_cached_in_per_1k;
    long llm_batch_max_requests;    /* per batch input file (50,000) */
    long llm_batch_max_bytes;       /* per batch input file (200 MB) */
    char *smtp_url;         /* unset: .eml files in the outbox */
    char *smtp_user;        /* secret */
    char *smtp_password;    /* secret */
    char *mail_from;        /* "addr" or "Name <addr>", checked */
    char *mail_tls;         /* "required" | "opportunistic" | "off", or
                               unset: required, opportunistic on loopback */
    char *mail_ca_file;     /* CA bundle for the SMTP server, or unset */
    int mail_verify_tls;    /* verify the server's certificate (1) */
    long mail_max_attachment_bytes; /* base64 size; larger: not attached */
    long mail_max_tries;    /* SMTP tries per message within a run */
    long mail_backoff_ms;   /* first wait between tries (doubles, capped) */
    long mail_timeout_s;    /* per SMTP transfer */
    char *alert_webhook_url;
    long alerts_resend_after_s; /* the same alert is not sent again before */
    long alerts_webhook_max_tries;
    char *retell_api_key;   /* secret: checks Retell webhook signatures */
    long score_page;        /* conversations claimed at a time */
    int score_batch;        /* nightly scores through the Batch API */
    long ingest_batch_rows;
    long ingest_max_line_bytes;
    /* The database connection (store.c; README "Timeouts and retries"). */
    long db_connect_timeout_s;  /* per try of a connection (libpq) */
    long db_connect_retry_s;    /* how long to wait for a server that is
                                   not up yet (0: fail at once) */
    long db_statement_timeout_s; /* per statement, server side (0: none) */
    /* Limits of the offline rules evaluator (score/rules.c). */
    long score_match_limit;     /* PCRE2 backtracking steps per match */
    long score_time_budget_ms;  /* matching time per conversation (0: none) */
    json_t *root;           /* the whole file (an empty object if none) */
};

/* Settings of one tenant: its own entry over "default" over built-ins. */
struct cs_tenant_cfg {
    const char *name;               /* borrowed */
    const char *timezone;           /* borrowed from the config */
    const char *currency;
    const char *display_name;       /* NULL: show the tenant id */
    const char *currency_symbol;    /* "$", "€", ... or "" (code shown) */
    const char *decimal_separator;  /* "." */
    const char *thousands_separator; /* "," */
    double human_cost_per_conversation; /* NAN when not configured */
    double human_hourly_rate;           /* NAN when not configured */
    double platform_fee;                /* per calendar month */
    long retention_days;                /* data kept, in local days (365) */
    json_t *recipients;                 /* borrowed array of strings */
    json_t *alert_recipients;           /* borrowed; NULL: recipients */
    const char *alert_webhook_url;      /* borrowed; NULL: the global one */
    json_t *alerts;                     /* new object: merged thresholds */
};

/*
 * Loads `path` (NULL: $CALLSCOPE_CONFIG, else config/callscope.json, which
 * may be absent) and applies the environment. Invalid files or values give
 * CS_EINVALID naming the file and key. *out is new; cs_config_free.
 */
int cs_config_load(struct cs_config **out, const char *path,
                   struct cs_err *err);
void cs_config_free(struct cs_config *cfg);

/* Fills `out` for `tenant`; release with cs_tenant_cfg_release. */
int cs_config_tenant(struct cs_tenant_cfg *out, const struct cs_config *cfg,
                     const char *tenant, struct cs_err *err);
void cs_tenant_cfg_release(struct cs_tenant_cfg *t);

/*
 * Prints the effective configuration as JSON with secrets masked, numbers
 * in their shortest exact form (cs_fmt_json), and the alert thresholds in
 * force: "alerts" for the tenants the config does not list, with each
 * rule's "source" ("default": built in, "config": set or changed by the
 * config) and null for a built-in alert switched off; "alerts_by_tenant"
 * for each listed tenant whose thresholds differ. 0 or CS_EIO.
 */
int cs_config_show(const struct cs_config *cfg, FILE *out);

#endif
