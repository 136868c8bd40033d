/* model.h - the typed report: KPI definitions, periods, comparisons */
#ifndef CS_REPORT_MODEL_H
#define CS_REPORT_MODEL_H

#include <stddef.h>

struct cs_conv_source;

/*
 * One model, many renderers. `kpi/` fills a `struct cs_report`; the json,
 * csv, txt (and pdf, xlsx) renderers read it and decide nothing about what
 * a value means: its label, unit, good/bad direction and how its change is
 * measured come from the KPI definitions table below (docs/kpis.md,
 * docs/report-design.md).
 *
 * Usage:
 *
 *     struct cs_report *r = cs_report_new("2026-10-01", "2026-11-01", tz);
 *     struct cs_report_tenant *t = cs_report_add_tenant(r, "acme");
 *     cs_kpi_set_init(&t->cur);  ...fill t->cur.v[CS_KPI_...]...
 *     t->cmp[CS_CMP_PREVIOUS] = cs_kpi_set_new(); ...fill...
 *     cs_report_tenant_finish(t);      // builds t->rows, changes included
 *     ...render...
 *     cs_report_free(r);
 *
 * Numbers are doubles; NAN means null ("—"). Counts are exact as doubles
 * up to 2^53.
 */

enum cs_unit {
    CS_UNIT_COUNT,      /* 1,234 (avg_turns: a mean count, one decimal) */
    CS_UNIT_RATE,       /* a fraction in [0, 1], shown as 71.3 % */
    CS_UNIT_SECONDS,
    CS_UNIT_MONEY,      /* in the tenant's currency */
    CS_UNIT_SCORE,      /* CSAT 1-5, NPS -100..100, a rubric's score */
    CS_UNIT_MS,
    CS_UNIT_RATIO       /* ROI: 26.1x */
};

enum cs_direction {
    CS_DIR_NEUTRAL,
    CS_DIR_HIGHER_IS_GOOD,
    CS_DIR_LOWER_IS_GOOD
};

/* How a change against a comparison is measured, from the unit: rates in
 * percentage points, counts and money relative, the rest absolute. */
enum cs_change_kind {
    CS_CHANGE_POINTS,   /* (v - p) * 100 */
    CS_CHANGE_RELATIVE, /* (v - p) / p; null unless p > 0 */
    CS_CHANGE_ABSOLUTE  /* v - p, in the KPI's unit */
};

/* Whether a change is good or bad news for the business. */
enum cs_tone { CS_TONE_NEUTRAL, CS_TONE_GOOD, CS_TONE_BAD };

enum cs_kpi_section {
    CS_SECTION_VOLUME,
    CS_SECTION_OUTCOMES,
    CS_SECTION_HANDLING,
    CS_SECTION_CONNECTORS,
    CS_SECTION_SATISFACTION,
    CS_SECTION_SENTIMENT,
    CS_SECTION_COST,
    CS_SECTION_LATENCY,
    CS_SECTION_METRICS
};

/* The fixed KPIs of docs/kpis.md (and the few extra keys callscope adds),
 * in the order of the JSON output. */
enum cs_kpi_id {
    CS_KPI_CONVERSATIONS,
    CS_KPI_INBOUND,
    CS_KPI_OUTBOUND,
    CS_KPI_ANSWERED,
    CS_KPI_HANDED_OFF,
    CS_KPI_CONTAINED,
    CS_KPI_ANSWER_RATE,
    CS_KPI_OUTBOUND_ANSWER_RATE,
    CS_KPI_CONTAINMENT_RATE,
    CS_KPI_HANDOFF_RATE,
    CS_KPI_ABANDONMENT_RATE,
    CS_KPI_ERROR_RATE,
    CS_KPI_AHT_S,
    CS_KPI_ASA_S,
    CS_KPI_AVG_TURNS,
    CS_KPI_CONNECTOR_SUCCESS_RATE,
    CS_KPI_WORK_TICKET,
    CS_KPI_WORK_CRM_UPDATE,
    CS_KPI_WORK_APPOINTMENT,
    CS_KPI_WORK_TOTAL,
    CS_KPI_CSAT_AVG,
    CS_KPI_CSAT_RESPONSES,
    CS_KPI_NPS,
    CS_KPI_NPS_RESPONSES,
    CS_KPI_SENTIMENT_POSITIVE,
    CS_KPI_SENTIMENT_NEUTRAL,
    CS_KPI_SENTIMENT_NEGATIVE,
    CS_KPI_SENTIMENT_SCORED,
    CS_KPI_AI_COST,
    CS_KPI_COST_PER_CONVERSATION,
    CS_KPI_COST_PER_CONTAINED,
    CS_KPI_PLATFORM_FEE,
    CS_KPI_HUMAN_COST_PER_CONVERSATION,
    CS_KPI_HUMAN_EQUIVALENT_COST,
    CS_KPI_HANDOFF_PEOPLE_COST,
    CS_KPI_ACTUAL_COST,
    CS_KPI_NET_SAVINGS,
    CS_KPI_ROI,
    CS_KPI__COUNT
};

/* One row of the KPI definitions table. */
struct cs_kpi_def {
    enum cs_kpi_id id;
    const char *key;        /* JSON path: "answer_rate", "sentiment.positive" */
    const char *label;      /* for people: "Average handling time" */
    const char *short_label; /* for narrow places: "AHT" */
    enum cs_unit unit;
    enum cs_direction direction;
    enum cs_kpi_section section;
    unsigned flags;         /* CS_KPI_F_* */
    const char *definition; /* one sentence, for a methods page */
};

enum {
    CS_KPI_F_NOT_IN_JSON = 1u << 0, /* derived for people; not an output key */
    CS_KPI_F_DETAIL = 1u << 1,      /* a denominator or a count behind a
                                       ratio: tables, not tiles */
    CS_KPI_F_MEAN = 1u << 2         /* a mean of counts (a real in JSON) */
};

/* The table, indexed by enum cs_kpi_id (borrowed, static). */
const struct cs_kpi_def *cs_kpi_def_get(enum cs_kpi_id id);
/* The definition whose key is `key`, or NULL. */
const struct cs_kpi_def *cs_kpi_def_find(const char *key);
/*
 * Whether `key` can name a KPI of a report (as cs_kpi_set_value reads
 * it): a key of the table, "latency_ms.<hop>.p50|p95|p99|count", or
 * "metrics.<metric>.<stat>" with a stat a metric KPI has (true_rate,
 * partial_rate, mean, below_pass_rate, applicable, errors, buckets.<b>,
 * shares.<label>, labels.<label>). The metric itself is not checked (the
 * rubrics say which exist). When not, *closest is the table's nearest
 * key, or NULL.
 */
int cs_kpi_key_valid(const char *key, const char **closest);
const char *cs_unit_name(enum cs_unit u);
/* The heading of a section: "Cost and return". */
const char *cs_kpi_section_title(enum cs_kpi_section s);
const char *cs_direction_name(enum cs_direction d);
/* Parses "higher_is_good" | "lower_is_good" | "neutral"; 0 or -1. */
int cs_direction_parse(const char *s, enum cs_direction *out);
enum cs_change_kind cs_change_kind_for(enum cs_unit u);
const char *cs_change_kind_name(enum cs_change_kind k);

/* The change of `v` against `p` for a KPI of unit `u` (NAN when either is
 * null or no change can be computed). */
double cs_report_change(enum cs_unit u, double v, double p);
/* Good or bad news: the sign of `change` read through the direction. */
enum cs_tone cs_report_tone(enum cs_direction d, double change);

/* Latency of one hop (span name), milliseconds, nearest-rank. */
struct cs_latency_kpi {
    char *hop;
    double p50, p95, p99;
    long count;
};

enum cs_metric_type {
    CS_METRIC_BOOLEAN,
    CS_METRIC_CATEGORICAL,
    CS_METRIC_SCORE,
    CS_METRIC_SCORECARD     /* a QA scorecard's 0-100 scores */
};

/* What reports say of a metric the judge has not yet been shown to agree
 * with people on (its min_kappa). */
#define CS_REPORT_UNVERIFIED "not yet verified against human labels"

/* Scorecard buckets: [0, 10), [10, 20), ..., [90, 100]. */
#define CS_SCORECARD_BUCKETS 10

/* The last `calibrate` of a metric against human labels. */
struct cs_calibration_kpi {
    char measured_at[11];   /* YYYY-MM-DD (UTC) */
    char *labels_sha256;    /* of the labels file */
    char *version;          /* the rubric version of the results compared,
                               or NULL */
    char *evaluator;        /* their evaluator, or NULL */
    long n;
    double accuracy;        /* NAN for n = 0 */
    double kappa;
};

/* A value and its count: a categorical label, or a score value (its JSON
 * text as `label`, its number as `num`). */
struct cs_metric_count {
    char *label;
    double num;
    long count;
};

/* The KPIs of one custom metric (docs/kpis.md, "metric <key>"). */
struct cs_metric_kpi {
    char *key;
    char *name;             /* the rubric's name, else the key */
    enum cs_metric_type type;
    enum cs_direction direction;
    long applicable;        /* results other than not_applicable/error */
    long errors;
    double true_rate;       /* boolean */
    double partial_rate;    /* boolean */
    double mean;            /* score */
    double sd;              /* score, scorecard: standard deviation */
    double scale_min, scale_max; /* score: the rubric's scale, or NAN */
    char *definition;       /* the rubric's, or NULL (agent-logged) */
    char *version;          /* the rubric version most results carry */
    char *evaluator;        /* the evaluator most results came from */
    struct cs_metric_count *counts; /* categorical labels / score values,
                                       in key order */
    size_t n_counts;
    /* Scorecards: the pass mark, the share of the applicable below it,
     * and the count of scores per ten points. */
    double pass_mark;
    double below_pass_rate;
    long buckets[CS_SCORECARD_BUCKETS];
    /* Trust in the judge: the rubric's min_kappa (NAN: none), its last
     * calibration (NULL: never measured), and whether reports must say
     * it is "not yet verified against human labels": a min_kappa is set
     * and the last calibration of the version in force (if any) fell
     * below it. */
    double min_kappa;
    struct cs_calibration_kpi *calibration;
    int unverified;
};

/* An alert raised by a KPI crossing a threshold. */
struct cs_alert {
    char *kpi;              /* path, as in the config */
    enum cs_unit unit;
    double value;
    double threshold;
    int critical;           /* else warning */
    int below;              /* direction "below", else "above" */
};

/* Every KPI of one group (a whole period, one day or one agent). */
struct cs_kpi_set {
    char *group;            /* "YYYY-MM-DD", an agent, or NULL */
    double v[CS_KPI__COUNT];
    /* For significance tests (kpi/movers.h): a rate's denominator or a
     * mean's count in n[], a mean's standard deviation in sd[] (NAN
     * where it does not apply). */
    double n[CS_KPI__COUNT];
    double sd[CS_KPI__COUNT];
    struct cs_latency_kpi *latency;
    size_t n_latency;
    struct cs_metric_kpi *metrics;
    size_t n_metrics;
    struct cs_alert *alerts;    /* what its values raise (whole periods) */
    size_t n_alerts;
};

void cs_kpi_set_init(struct cs_kpi_set *s);
void cs_kpi_set_release(struct cs_kpi_set *s);
/* A heap set (cs_kpi_set_free; NULL is a no-op). */
struct cs_kpi_set *cs_kpi_set_new(void);
void cs_kpi_set_free(struct cs_kpi_set *s);
/* Appends and returns a zeroed latency / metric entry (borrowed). */
struct cs_latency_kpi *cs_kpi_set_add_latency(struct cs_kpi_set *s,
                                              const char *hop);
struct cs_metric_kpi *cs_kpi_set_add_metric(struct cs_kpi_set *s,
                                            const char *key);
struct cs_metric_kpi *cs_kpi_set_find_metric(const struct cs_kpi_set *s,
                                             const char *key);
/* Adds `n` to the count of `label` (kept in strcmp order). */
void cs_metric_kpi_count(struct cs_metric_kpi *m, const char *label,
                         double num, long n);
/* A share of a label among the applicable (NAN when none). */
double cs_metric_kpi_share(const struct cs_metric_kpi *m,
                           const struct cs_metric_count *c);
const char *cs_metric_type_name(enum cs_metric_type t);
/* The name of scorecard bucket b: "0-10", ..., "90-100" (100 falls in the
 * last). */
void cs_scorecard_bucket_name(char *out, size_t size, int b);
/* The bucket of a score. */
int cs_scorecard_bucket_of(double score);

/* The comparisons a report may carry for each tenant. */
enum cs_cmp_slot {
    CS_CMP_PREVIOUS,        /* the period of the same length before */
    CS_CMP_LAST_WEEK,       /* a day report: the same weekday a week before */
    CS_CMP__COUNT
};

/* A KPI of one tenant as people read it: value and comparisons. */
struct cs_kpi_cmp {
    double value;           /* NAN: null or not compared */
    double change;          /* in the KPI's own terms (cs_report_change) */
};

struct cs_kpi_row {
    char *key;              /* JSON path: "metrics.booking.true_rate" */
    char *label;            /* "Booking completed: true rate" */
    enum cs_unit unit;
    enum cs_direction direction;
    enum cs_kpi_section section;
    unsigned flags;         /* CS_KPI_F_* */
    const struct cs_kpi_def *def; /* NULL for latency and metric rows */
    double value;
    struct cs_kpi_cmp cmp[CS_CMP__COUNT];
};

enum cs_report_by { CS_REPORT_BY_NONE, CS_REPORT_BY_DAY, CS_REPORT_BY_AGENT };

/* An alert rule in force for a tenant (docs/kpis.md defaults merged with
 * the config). NAN: that level is not set. */
struct cs_threshold {
    char *kpi;
    int below;
    double warning;
    double critical;
};

/* The level `v` reaches under `th`: 2 critical, 1 warning, 0 none. */
int cs_threshold_level(const struct cs_threshold *th, double v);
/* The rule for `kpi` among the tenant's, or NULL. */
struct cs_report_tenant;
const struct cs_threshold *cs_report_threshold(
    const struct cs_report_tenant *t, const char *kpi);

/* Connector success of one tool over the period. */
struct cs_tool_kpi {
    char *name;
    long calls;
    long ok;
};

/* Why a conversation is worth a look (bits). */
enum {
    CS_LOOK_NEGATIVE_HANDOFF = 1u << 0, /* handed off, caller negative */
    CS_LOOK_CONNECTOR_FAILURE = 1u << 1,
    CS_LOOK_FAILED_METRIC = 1u << 2
};

struct cs_look_item {
    char *id;
    char started[20];       /* local "YYYY-MM-DD HH:MM" */
    char *agent;            /* or NULL */
    unsigned reasons;       /* CS_LOOK_* */
    char *failed_metric;    /* the (first) metric that failed, or NULL */
};

/* Number presentation of one tenant (config: currency_symbol, ...). */
struct cs_numfmt {
    char currency[8];       /* ISO code: "USD" */
    char symbol[16];        /* "$", "€", or "" (then the code follows) */
    char decimal[8];        /* "." */
    char thousands[8];      /* "," */
};

/* A theme of a stored explanation (`callscope explain`). */
struct cs_theme {
    char *title;
    long count;
};

/*
 * A KPI or label share that moved against the previous period, with its
 * significance test (kpi/movers.h): a two-proportion z-test for rates
 * and shares, Welch's t-test for means. Only tests with at least the
 * minimum n on both sides count; `significant` holds after Holm's
 * correction over all of a tenant's tests.
 */
struct cs_mover {
    char *key;              /* the row's key ("containment_rate",
                               "metrics.call_reason.shares.billing") */
    char *label;
    enum cs_unit unit;
    enum cs_direction direction;
    double value;
    double previous;
    double change;          /* in the KPI's own terms (cs_report_change) */
    enum cs_tone tone;      /* good or bad news */
    double n;               /* this period's sample size */
    double n_prev;
    int welch;              /* Welch's t (a mean), else a z-test */
    double stat;            /* z or t */
    double p;               /* two-sided p-value */
    double effect;          /* Cohen's h (rates) or d (means), signed */
    int significant;
    int unverified;         /* a metric not yet verified against human
                               labels (its min_kappa) */
    char **ids;             /* conversations behind it (this period) */
    size_t n_ids;
    char *why;              /* what those conversations are: "handed off" */
    char *metric;           /* the verdict an explanation is of: metric */
    char *verdict;          /* and value (JSON text), or NULL */
    /* The stored explanation of that verdict for the tenant and period,
     * when there is one (has_explanation). */
    int has_explanation;
    char *expl_evaluator;
    char *expl_created;
    long expl_sampled;
    struct cs_theme *themes;
    size_t n_themes;
};

struct cs_report_tenant {
    char *name;
    char *display_name;     /* config display_name, else the id */
    char *tz;               /* the zone its days are cut in */
    struct cs_numfmt fmt;
    struct cs_kpi_set cur;
    /* Comparison sets; NULL when not computed. For CS_CMP_LAST_WEEK a set
     * with cmp_absent set means "computed, but no data" (JSON null). */
    struct cs_kpi_set *cmp[CS_CMP__COUNT];
    int cmp_absent[CS_CMP__COUNT];
    enum cs_report_by by;
    struct cs_kpi_set *groups; /* by day (every day of the period) or by
                                  agent */
    size_t n_groups;
    struct cs_kpi_set *prev_groups; /* by day: the previous period's days */
    size_t n_prev_groups;
    struct cs_threshold *thresholds; /* the alert rules in force */
    size_t n_thresholds;
    int fee_allocated;      /* by agent: the fee split by conversations */
    struct cs_kpi_row *rows; /* built by cs_report_tenant_finish */
    size_t n_rows;
    /* Details (reports, not `kpis`; has_details says they were read). */
    int has_details;
    struct cs_tool_kpi *tools;   /* worst success first */
    size_t n_tools;
    struct cs_look_item *look;   /* the worst first, at most the limit */
    size_t n_look;
    long look_total;             /* all conversations worth a look */
    long scored;                 /* conversations an evaluator scored */
    /* The conversations themselves, for renderers that list them
     * (report/conv_rows.h); borrowed, NULL when not wired. */
    const struct cs_conv_source *conv;
    /* The movers against the previous period, significant ones first
     * (by effect size), when computed (has_movers). */
    int has_movers;
    struct cs_mover *movers;
    size_t n_movers;
    size_t n_tested;        /* tests with the minimum n on both sides */
};

struct cs_period {
    char from[11];          /* local date, inclusive */
    char to[11];            /* exclusive */
};

/* How documents look (pdf): set by whoever renders, not by kpi/. */
struct cs_tmpl;
struct cs_report_style {
    const char *font_regular;   /* NULL: DejaVu Sans */
    const char *font_bold;      /* NULL: DejaVu Sans Bold */
    const char *logo;           /* PNG or JPEG, or NULL */
    int letter;                 /* US Letter, else A4 */
    const struct cs_tmpl *tmpl; /* the report strings (templates/) */
    char generated_at[40];      /* "2026-11-01 06:10 UTC" */
    int all_tenants;            /* the all-tenants edition */
};

/* How movers were tested (kpi/movers.h). */
struct cs_movers_opts {
    long min_n;             /* on each side (default 30) */
    double alpha;           /* family-wise, Holm (default 0.05) */
    long sample;            /* conversation ids per mover (default 5) */
    int explanations;       /* look up the stored explanations */
};

struct cs_report {
    struct cs_period period;
    char *tz;               /* the --tz override as given, or NULL */
    struct cs_period cmp_period[CS_CMP__COUNT];
    int has_cmp[CS_CMP__COUNT];
    struct cs_report_tenant *tenants;
    size_t n_tenants;
    struct cs_report_style style;
    struct cs_movers_opts movers; /* when movers were computed */
};

/* Frees the movers of a tenant and leaves it without. */
void cs_report_movers_release(struct cs_report_tenant *t);

/* A new, empty report for [from, to); `tz` (may be NULL) is copied. */
struct cs_report *cs_report_new(const char *from, const char *to,
                                const char *tz);
void cs_report_free(struct cs_report *r);
/* Appends a tenant (borrowed; valid until the next add or the free). */
struct cs_report_tenant *cs_report_add_tenant(struct cs_report *r,
                                              const char *name);
struct cs_report_tenant *cs_report_find_tenant(const struct cs_report *r,
                                               const char *name);
/* Appends an alert to the set (the key is copied). */
void cs_kpi_set_add_alert(struct cs_kpi_set *s, const char *kpi,
                          enum cs_unit unit, double value, double threshold,
                          int critical, int below);

/*
 * Builds t->rows from t->cur and the comparison sets: every fixed KPI,
 * latency (p50/p95/p99/count per hop), sentiment and each metric's KPIs,
 * with comparisons matched by key and changes computed once. Call again
 * after changing the sets (rows are rebuilt).
 */
void cs_report_tenant_finish(struct cs_report_tenant *t);
/*
 * The rows of any set (a breakdown group too): *out is a new array of
 * *n_out rows (cs_kpi_rows_free); `cmp` may be NULL (no comparisons) and
 * its NULL entries are slots not compared.
 */
void cs_kpi_rows_build(struct cs_kpi_row **out, size_t *n_out,
                       const struct cs_kpi_set *cur,
                       const struct cs_kpi_set *const cmp[CS_CMP__COUNT]);
void cs_kpi_rows_free(struct cs_kpi_row *rows, size_t n);
/* The row of `key`, or NULL. */
const struct cs_kpi_row *cs_report_row(const struct cs_report_tenant *t,
                                       const char *key);
/* A value of a set by path (fixed KPI, latency or metric), NAN when none. */
double cs_kpi_set_value(const struct cs_kpi_set *s, const char *key,
                        enum cs_unit *unit_out);

#endif
