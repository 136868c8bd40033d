/* kpidefs.c - the KPI definitions table: label, unit, direction */
#include "report/model.h"

#include <string.h>

#define DEF(id, key, label, shrt, unit, dir, sec, flags, text)            \
    [id] = {id, key, label, shrt, unit, dir, sec, flags, text}

#define HI CS_DIR_HIGHER_IS_GOOD
#define LO CS_DIR_LOWER_IS_GOOD
#define NE CS_DIR_NEUTRAL
#define DETAIL CS_KPI_F_DETAIL

/*
 * One row per KPI of docs/kpis.md, directions from docs/report-design.md
 * ("KPI directions"). Renderers read labels, units and directions from
 * here and nowhere else.
 */
static const struct cs_kpi_def defs[CS_KPI__COUNT] = {
    DEF(CS_KPI_CONVERSATIONS, "conversations", "Conversations", "Conversations",
        CS_UNIT_COUNT, NE, CS_SECTION_VOLUME, 0,
        "Conversations that started in the period."),
    DEF(CS_KPI_INBOUND, "inbound", "Inbound", "Inbound",
        CS_UNIT_COUNT, NE, CS_SECTION_VOLUME, 0,
        "Conversations the caller started."),
    DEF(CS_KPI_OUTBOUND, "outbound", "Outbound", "Outbound",
        CS_UNIT_COUNT, NE, CS_SECTION_VOLUME, 0,
        "Conversations the agent started."),
    DEF(CS_KPI_ANSWERED, "answered", "Answered", "Answered",
        CS_UNIT_COUNT, NE, CS_SECTION_VOLUME, DETAIL,
        "Conversations with outcome answered."),
    DEF(CS_KPI_HANDED_OFF, "handed_off", "Handed off", "Handed off",
        CS_UNIT_COUNT, NE, CS_SECTION_VOLUME, DETAIL,
        "Answered conversations handed to a person."),
    DEF(CS_KPI_CONTAINED, "contained", "Contained", "Contained",
        CS_UNIT_COUNT, NE, CS_SECTION_VOLUME, DETAIL,
        "Answered conversations the agent finished without a handoff."),
    DEF(CS_KPI_ANSWER_RATE, "answer_rate", "Answer rate", "Answer rate",
        CS_UNIT_RATE, HI, CS_SECTION_OUTCOMES, 0,
        "Answered inbound / inbound."),
    DEF(CS_KPI_OUTBOUND_ANSWER_RATE, "outbound_answer_rate",
        "Outbound answer rate", "Outbound ans.",
        CS_UNIT_RATE, HI, CS_SECTION_OUTCOMES, 0,
        "Answered outbound / outbound."),
    DEF(CS_KPI_CONTAINMENT_RATE, "containment_rate",
        "Containment", "Containment",
        CS_UNIT_RATE, HI, CS_SECTION_OUTCOMES, 0,
        "Contained / answered: handled without a person."),
    DEF(CS_KPI_HANDOFF_RATE, "handoff_rate", "Handoff rate", "Handoff",
        CS_UNIT_RATE, LO, CS_SECTION_OUTCOMES, 0,
        "Handed off / answered."),
    DEF(CS_KPI_ABANDONMENT_RATE, "abandonment_rate",
        "Abandonment rate", "Abandonment",
        CS_UNIT_RATE, LO, CS_SECTION_OUTCOMES, 0,
        "Abandoned inbound / inbound."),
    DEF(CS_KPI_ERROR_RATE, "error_rate", "Error rate", "Errors",
        CS_UNIT_RATE, LO, CS_SECTION_OUTCOMES, 0,
        "Failed / all conversations."),
    DEF(CS_KPI_AHT_S, "aht_s", "Average handling time", "AHT",
        CS_UNIT_SECONDS, NE, CS_SECTION_HANDLING, 0,
        "Mean of ended − answered over answered conversations with both "
        "times."),
    DEF(CS_KPI_ASA_S, "asa_s", "Average speed of answer", "ASA",
        CS_UNIT_SECONDS, LO, CS_SECTION_HANDLING, 0,
        "Mean of ring + queue wait over answered conversations (missing as "
        "0)."),
    DEF(CS_KPI_AVG_TURNS, "avg_turns", "Turns per conversation", "Turns",
        CS_UNIT_COUNT, NE, CS_SECTION_HANDLING, CS_KPI_F_MEAN,
        "Mean number of turns over answered conversations."),
    DEF(CS_KPI_CONNECTOR_SUCCESS_RATE, "connector_success_rate",
        "Connector success", "Connectors",
        CS_UNIT_RATE, HI, CS_SECTION_CONNECTORS, 0,
        "Tool calls that succeeded / all tool calls."),
    DEF(CS_KPI_WORK_TICKET, "work_items_created.ticket",
        "Tickets created", "Tickets",
        CS_UNIT_COUNT, HI, CS_SECTION_CONNECTORS, 0,
        "Successful tool calls that created a ticket."),
    DEF(CS_KPI_WORK_CRM_UPDATE, "work_items_created.crm_update",
        "CRM updates", "CRM updates",
        CS_UNIT_COUNT, HI, CS_SECTION_CONNECTORS, 0,
        "Successful tool calls that updated the CRM."),
    DEF(CS_KPI_WORK_APPOINTMENT, "work_items_created.appointment",
        "Appointments booked", "Appointments",
        CS_UNIT_COUNT, HI, CS_SECTION_CONNECTORS, 0,
        "Successful tool calls that created an appointment."),
    DEF(CS_KPI_WORK_TOTAL, "work_items_created.total",
        "Work items created", "Work items",
        CS_UNIT_COUNT, HI, CS_SECTION_CONNECTORS, 0,
        "Tickets, CRM updates and appointments created."),
    DEF(CS_KPI_CSAT_AVG, "csat_avg", "CSAT", "CSAT",
        CS_UNIT_SCORE, HI, CS_SECTION_SATISFACTION, 0,
        "Mean CSAT (1–5) where given."),
    DEF(CS_KPI_CSAT_RESPONSES, "csat_responses",
        "CSAT responses", "CSAT answers",
        CS_UNIT_COUNT, NE, CS_SECTION_SATISFACTION, DETAIL,
        "Conversations with a CSAT answer."),
    DEF(CS_KPI_NPS, "nps", "NPS", "NPS",
        CS_UNIT_SCORE, HI, CS_SECTION_SATISFACTION, 0,
        "100 × (share of 9–10 − share of 0–6) over conversations with an "
        "NPS answer."),
    DEF(CS_KPI_NPS_RESPONSES, "nps_responses", "NPS responses", "NPS answers",
        CS_UNIT_COUNT, NE, CS_SECTION_SATISFACTION, DETAIL,
        "Conversations with an NPS answer."),
    DEF(CS_KPI_SENTIMENT_POSITIVE, "sentiment.positive",
        "Positive sentiment", "Positive",
        CS_UNIT_RATE, HI, CS_SECTION_SENTIMENT, 0,
        "Share of answered, scored conversations whose caller sentiment is "
        "positive."),
    DEF(CS_KPI_SENTIMENT_NEUTRAL, "sentiment.neutral",
        "Neutral sentiment", "Neutral",
        CS_UNIT_RATE, NE, CS_SECTION_SENTIMENT, 0,
        "Share whose caller sentiment is neutral."),
    DEF(CS_KPI_SENTIMENT_NEGATIVE, "sentiment.negative",
        "Negative sentiment", "Negative",
        CS_UNIT_RATE, LO, CS_SECTION_SENTIMENT, 0,
        "Share whose caller sentiment is negative."),
    DEF(CS_KPI_SENTIMENT_SCORED, "sentiment.scored",
        "Sentiment scored", "Scored",
        CS_UNIT_COUNT, NE, CS_SECTION_SENTIMENT, DETAIL,
        "Answered conversations with a sentiment result."),
    DEF(CS_KPI_AI_COST, "ai_cost", "AI cost", "AI cost",
        CS_UNIT_MONEY, NE, CS_SECTION_COST, 0,
        "Sum of every cost component of the conversations."),
    DEF(CS_KPI_COST_PER_CONVERSATION, "cost_per_conversation",
        "Cost per conversation", "Cost/conv.",
        CS_UNIT_MONEY, LO, CS_SECTION_COST, 0,
        "AI cost / conversations."),
    DEF(CS_KPI_COST_PER_CONTAINED, "cost_per_contained",
        "Cost per contained", "Cost/contained",
        CS_UNIT_MONEY, LO, CS_SECTION_COST, 0,
        "AI cost / contained conversations."),
    DEF(CS_KPI_PLATFORM_FEE, "platform_fee", "Platform fee", "Platform fee",
        CS_UNIT_MONEY, NE, CS_SECTION_COST, 0,
        "The monthly fee, prorated by the days of each month the period "
        "covers."),
    DEF(CS_KPI_HUMAN_COST_PER_CONVERSATION, "human_cost_per_conversation",
        "Human cost per conversation", "Human cost",
        CS_UNIT_MONEY, NE, CS_SECTION_COST, DETAIL,
        "Configured, or the hourly rate × AHT."),
    DEF(CS_KPI_HUMAN_EQUIVALENT_COST, "human_equivalent_cost",
        "What people would have cost", "People cost",
        CS_UNIT_MONEY, NE, CS_SECTION_COST, 0,
        "Answered × human cost per conversation."),
    DEF(CS_KPI_HANDOFF_PEOPLE_COST, "handoff_people_cost",
        "People's cost for handoffs", "Handoff cost",
        CS_UNIT_MONEY, NE, CS_SECTION_COST, CS_KPI_F_NOT_IN_JSON,
        "Handed off × human cost per conversation."),
    DEF(CS_KPI_ACTUAL_COST, "actual_cost", "Actual cost", "Actual cost",
        CS_UNIT_MONEY, LO, CS_SECTION_COST, 0,
        "AI cost + people's cost for handoffs + platform fee."),
    DEF(CS_KPI_NET_SAVINGS, "net_savings", "Net savings", "Net savings",
        CS_UNIT_MONEY, HI, CS_SECTION_COST, 0,
        "What people would have cost − actual cost; negative is a loss."),
    DEF(CS_KPI_ROI, "roi", "ROI", "ROI",
        CS_UNIT_RATIO, HI, CS_SECTION_COST, 0,
        "Net savings / (AI cost + platform fee)."),
};

const struct cs_kpi_def *cs_kpi_def_get(enum cs_kpi_id id)
{
    return &defs[id];
}

const struct cs_kpi_def *cs_kpi_def_find(const char *key)
{
    for (size_t i = 0; i < CS_KPI__COUNT; i++) {
        if (strcmp(defs[i].key, key) == 0)
            return &defs[i];
    }
    return NULL;
}

const char *cs_unit_name(enum cs_unit u)
{
    static const char *const names[] = {"count", "rate", "seconds",
                                        "money", "score", "ms", "ratio"};

    return names[u];
}

const char *cs_kpi_section_title(enum cs_kpi_section s)
{
    static const char *const titles[] = {
        [CS_SECTION_VOLUME] = "Volume",
        [CS_SECTION_OUTCOMES] = "Outcomes",
        [CS_SECTION_HANDLING] = "Handling",
        [CS_SECTION_CONNECTORS] = "Connectors and work items",
        [CS_SECTION_SATISFACTION] = "Satisfaction",
        [CS_SECTION_SENTIMENT] = "Caller sentiment",
        [CS_SECTION_COST] = "Cost and return",
        [CS_SECTION_LATENCY] = "Latency",
        [CS_SECTION_METRICS] = "Custom metrics",
    };

    return titles[s];
}

static const char *const dir_names[] = {"neutral", "higher_is_good",
                                        "lower_is_good"};

const char *cs_direction_name(enum cs_direction d)
{
    return dir_names[d];
}

int cs_direction_parse(const char *s, enum cs_direction *out)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, dir_names[i]) == 0) {
            *out = (enum cs_direction)i;
            return 0;
        }
    }
    return -1;
}

enum cs_change_kind cs_change_kind_for(enum cs_unit u)
{
    switch (u) {
    case CS_UNIT_RATE:
        return CS_CHANGE_POINTS;
    case CS_UNIT_COUNT:
    case CS_UNIT_MONEY:
        return CS_CHANGE_RELATIVE;
    default:
        return CS_CHANGE_ABSOLUTE;
    }
}

const char *cs_change_kind_name(enum cs_change_kind k)
{
    static const char *const names[] = {"points", "relative", "absolute"};

    return names[k];
}
