/* run.c - importing files: the converters behind ingest, with bookkeeping */
#include "import/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fmt.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"
#include "import/field.h"
#include "store/pending.h"

/* The events of one LiveKit room read in this run. */
struct room {
    char *sid;
    char *name;                 /* room.name, for its transcript */
    json_t *items;              /* [{"id", "event", "source"}] of this run */
    json_t *events;             /* every event: this run's and held ones */
    const char *file;           /* room_finished's (else the last event's) */
    long line;
    int finished;
    const char **files;         /* the (interned) files its events came
                                   from */
    size_t n_files;
    const char *bad_file;       /* where an event of it was refused */
    long bad_line;
    int late;                   /* the room is stored already */
};

struct cs_importer {
    enum cs_import_format forced;   /* AUTO: detect */
    enum cs_import_format cur;      /* the format of the file being read */
    const struct cs_import_opts *o;
    struct cs_store *lookup;
    const char *transcripts;
    struct cs_ingest_conv conv;
    struct cs_import_stats stats;
    json_t *skipped_kinds;
    json_t *analyzed;               /* {"tenant\x1fid": true}: Retell calls
                                       whose analysed record was read */
    json_t *room_index;             /* {sid: index into rooms} */
    struct room *rooms;
    size_t n_rooms;
    char **files;                   /* names handed to ingest for later */
    size_t n_files;
    int warned_unchecked;
    cs_import_trace_fn trace;
    void *trace_ctx;
    const char **bad_files;         /* LiveKit files with an unreadable
                                       line: their rooms may lack events */
    long *bad_lines;
    size_t n_bad;
};

/* What a document's pieces need. */
struct doc {
    struct cs_importer *imp;
    const char *file;
    cs_ingest_emit_fn emit;
    void *run;
    struct cs_err *err;
};

static const char *intern(struct cs_importer *imp, const char *file)
{
    if (imp->n_files && strcmp(imp->files[imp->n_files - 1], file) == 0)
        return imp->files[imp->n_files - 1];
    imp->files = cs_xrealloc(imp->files, (imp->n_files + 1) *
                                             sizeof(*imp->files));
    imp->files[imp->n_files] = cs_xstrdup(file);
    return imp->files[imp->n_files++];
}

static void tell(struct cs_importer *imp, const char *file, long line,
                 const char *what, const char *detail)
{
    cs_log(CS_LOG_DEBUG, "%s:%ld: %s %s", file, line, what, detail);
    if (imp->trace)
        imp->trace(imp->trace_ctx, file, line, what, detail);
}

static void count_skip(const struct doc *d, long line, const char *kind)
{
    struct cs_importer *imp = d->imp;
    json_t *n = json_object_get(imp->skipped_kinds, kind);

    tell(imp, d->file, line, "skipped", kind);
    imp->stats.skipped++;
    json_object_set_new(imp->skipped_kinds, kind, json_integer(
        n ? json_integer_value(n) + 1 : 1));
}

static void reject(const struct doc *d, const char *file, long line,
                   const char *reason, const char *raw, size_t raw_len)
{
    struct cs_ingest_rec rec;
    struct cs_buf why = CS_BUF_INIT;

    /* One line of UTF-8, whatever vendor data the reason quotes. */
    cs_buf_add_excerpt(&why, reason, strlen(reason), CS_ERR_MSG_MAX);
    memset(&rec, 0, sizeof(rec));
    rec.reject = why.ptr;
    rec.file = file;
    rec.line = line;
    rec.raw = raw;
    rec.raw_len = raw_len;
    d->emit(d->run, &rec);
    cs_buf_release(&why);
}

/*
 * A payload refused, shown in the rejects file as its JSON scrubbed like
 * metadata (vendor payloads carry credentials: a Vapi phone number's
 * twilioAuthToken, an assistant's serverUrlSecret), never as it came.
 */
static void reject_json(const struct doc *d, long line, const char *reason,
                        const json_t *payload)
{
    json_t *safe = cs_import_scrub(payload);
    struct cs_buf raw = CS_BUF_INIT;

    if (safe)
        cs_fmt_json(&raw, safe, JSON_COMPACT);
    reject(d, NULL, line, reason, safe ? raw.ptr : NULL, raw.len);
    json_decref(safe);
    cs_buf_release(&raw);
}

static void emit_record(const struct doc *d, const char *file, long line,
                        const json_t *record, const char *raw,
                        size_t raw_len)
{
    struct cs_buf text = CS_BUF_INIT;
    struct cs_ingest_rec rec;

    cs_fmt_json(&text, record, JSON_COMPACT);
    memset(&rec, 0, sizeof(rec));
    rec.text = text.ptr;
    rec.len = text.len;
    rec.file = file;
    rec.line = line;
    rec.raw = raw;
    rec.raw_len = raw_len;
    d->imp->stats.records++;
    d->emit(d->run, &rec);
    cs_buf_release(&text);
}

/*
 * Retell: a record without the call's analysis never replaces one with it,
 * read earlier in this run or stored before. 1: drop this record.
 */
static int superseded(struct cs_importer *imp, const json_t *record,
                      struct cs_err *err, int *ret)
{
    const json_t *rm = json_object_get(json_object_get(record, "metadata"),
                                       "retell");
    const char *tenant = json_string_value(json_object_get(record,
                                                           "tenant"));
    const char *id = json_string_value(json_object_get(record, "id"));
    struct cs_buf key = CS_BUF_INIT;
    int found = 0;

    *ret = 0;
    if (!rm || !tenant || !id)
        return 0;
    cs_buf_addf(&key, "%s\x1f%s", tenant, id);
    if (json_is_true(json_object_get(rm, "analyzed"))) {
        json_object_set_new(imp->analyzed, key.ptr, json_true());
    } else if (json_object_get(imp->analyzed, key.ptr)) {
        found = 1;
    } else if (imp->lookup) {
        *ret = cs_store_conv_meta(imp->lookup, tenant, id,
                                  "{retell,analyzed}", &found, err);
    }
    cs_buf_release(&key);
    if (found)
        imp->stats.superseded++;
    return found;
}

static struct room *room_of(struct cs_importer *imp, const char *sid)
{
    json_t *at = json_object_get(imp->room_index, sid);
    struct room *r;

    if (at)
        return &imp->rooms[json_integer_value(at)];
    imp->rooms = cs_xrealloc(imp->rooms, (imp->n_rooms + 1) *
                                             sizeof(*imp->rooms));
    r = &imp->rooms[imp->n_rooms];
    memset(r, 0, sizeof(*r));
    r->sid = cs_xstrdup(sid);
    r->items = json_array();
    r->events = json_array();
    json_object_set_new(imp->room_index, sid,
                        json_integer((json_int_t)imp->n_rooms));
    imp->n_rooms++;
    return r;
}

/* An event's id for import_pending: its own, else a hash of it. */
static void event_id(struct cs_buf *out, const json_t *ev)
{
    const char *id = json_string_value(json_object_get(ev, "id"));
    struct cs_buf text = CS_BUF_INIT;
    char hex[65];

    if (id && *id) {
        cs_buf_adds(out, id);
        return;
    }
    cs_fmt_json(&text, ev, JSON_COMPACT | JSON_SORT_KEYS);
    cs_sha256_hex(text.ptr, text.len, hex, 64);
    cs_buf_addf(out, "sha256:%s", hex);
    cs_buf_release(&text);
}

/* Notes that the room has events from `file` (interned). */
static void room_file(struct room *r, const char *file)
{
    for (size_t i = 0; i < r->n_files; i++) {
        if (r->files[i] == file)
            return;
    }
    r->files = cs_xrealloc(r->files, (r->n_files + 1) * sizeof(*r->files));
    r->files[r->n_files++] = file;
}

/*
 * A LiveKit event refused: its room (when the event names it) is not
 * recorded from this run, and neither is any room of a file with a line
 * that could not be read at all (whose room is unknown); their events
 * stay held, so a corrected delivery completes them later.
 */
static void taint(struct doc *d, long line, const json_t *ev)
{
    struct cs_importer *imp = d->imp;
    const json_t *room = json_object_get(ev, "room");
    const char *sid, *file = intern(imp, d->file);
    struct room *r;

    if (!json_is_object(room))
        room = json_object_get(json_object_get(ev, "job"), "room");
    sid = json_string_value(json_object_get(room, "sid"));
    if (ev && sid && *sid) {
        r = room_of(imp, sid);
        if (!r->bad_file) {
            r->bad_file = file;
            r->bad_line = line;
        }
        room_file(r, file);
        return;
    }
    for (size_t i = 0; i < imp->n_bad; i++) {
        if (imp->bad_files[i] == file)
            return;
    }
    imp->bad_files = cs_xrealloc(imp->bad_files, (imp->n_bad + 1) *
                                                     sizeof(*imp->bad_files));
    imp->bad_lines = cs_xrealloc(imp->bad_lines, (imp->n_bad + 1) *
                                                     sizeof(*imp->bad_lines));
    imp->bad_files[imp->n_bad] = file;
    imp->bad_lines[imp->n_bad++] = line;
}

static void add_event(struct doc *d, long line, json_t *ev, const char *sid)
{
    struct room *r = room_of(d->imp, sid);
    const char *kind = json_string_value(json_object_get(ev, "event"));
    const char *name = json_string_value(json_object_get(
        json_object_get(ev, "room"), "name"));
    struct cs_buf id = CS_BUF_INIT, src = CS_BUF_INIT;

    event_id(&id, ev);
    cs_buf_addf(&src, "%s:%ld", d->file, line);
    json_array_append_new(r->items, json_pack("{s:s,s:O,s:s}", "id", id.ptr,
                                              "event", ev, "source",
                                              src.ptr));
    json_array_append(r->events, ev);
    if (!r->name && name && *name)
        r->name = cs_xstrdup(name);
    room_file(r, intern(d->imp, d->file));
    if (kind && strcmp(kind, "room_finished") == 0) {
        r->finished = 1;
        r->file = intern(d->imp, d->file);
        r->line = line;
    } else if (!r->finished) {
        r->file = intern(d->imp, d->file);
        r->line = line;
    }
    cs_buf_release(&id);
    cs_buf_release(&src);
}

/* One payload of a document. */
static int piece(void *arg, const struct cs_import_piece *p)
{
    struct doc *d = arg;
    struct cs_importer *imp = d->imp;
    enum cs_import_format f = imp->cur, seen;
    json_t *payload = NULL, *record = NULL;
    const char *skipped = NULL, *room = NULL;
    struct cs_err verr = {0, ""};
    int sig = 0, ret = 0, stop = 0;

    if (!p->json) {
        /* Not JSON: nothing can be told from secrets, nothing is shown. */
        reject(d, NULL, p->line, p->error, NULL, 0);
        if (imp->cur == CS_IMPORT_LIVEKIT)
            taint(d, p->line, NULL);
        return 0;
    }
    if (cs_import_unwrap(&payload, &sig, p->json, imp->o, &verr)) {
        reject_json(d, p->line, verr.msg, p->json);
        return 0;
    }
    imp->stats.payloads++;
    if (sig < 0) {
        imp->stats.unchecked++;
        if (!imp->warned_unchecked++)
            cs_log(CS_LOG_WARN, "Retell signatures are not checked: "
                   "CALLSCOPE_RETELL_API_KEY is not set");
    }
    seen = cs_import_detect(payload);
    if (imp->forced == CS_IMPORT_AUTO && seen != CS_IMPORT_AUTO)
        f = seen; /* a file may mix shapes when it is detected */
    if (imp->forced != CS_IMPORT_AUTO && seen != CS_IMPORT_AUTO &&
        seen != CS_IMPORT_CANONICAL && seen != f) {
        char msg[160];

        snprintf(msg, sizeof(msg), "a %s payload, not %s (leave out "
                 "--from to detect the format)", cs_import_format_name(seen),
                 cs_import_format_name(f));
        reject_json(d, p->line, msg, payload);
        goto done;
    }
    if (f == CS_IMPORT_CANONICAL) {
        emit_record(d, NULL, p->line, payload, NULL, 0);
        goto done;
    }
    if (f == CS_IMPORT_LIVEKIT) {
        if (cs_import_livekit_event(&room, &skipped, payload, &verr)) {
            reject_json(d, p->line, verr.msg, payload);
            taint(d, p->line, payload);
        }
        else if (skipped)
            count_skip(d, p->line, skipped);
        else
            add_event(d, p->line, payload, room);
        goto done;
    }
    if (cs_import_payload(&record, &skipped, f, payload, imp->o, &verr)) {
        reject_json(d, p->line, verr.msg, payload);
        goto done;
    }
    if (skipped) {
        count_skip(d, p->line, skipped);
        goto done;
    }
    if (f == CS_IMPORT_RETELL && superseded(imp, record, d->err, &ret)) {
        tell(imp, d->file, p->line, "superseded",
             json_string_value(json_object_get(record, "id")));
        goto done;
    }
    if (ret) {
        stop = 1;
        goto done;
    }
    emit_record(d, NULL, p->line, record, NULL, 0);
done:
    json_decref(record);
    json_decref(payload);
    return stop ? ret : 0;
}

/* Detection looks at the first payload only. */
struct first {
    enum cs_import_format f;
};

static int first_piece(void *arg, const struct cs_import_piece *p)
{
    struct first *fp = arg;
    json_t *payload = NULL;

    if (p->json && !cs_import_unwrap(&payload, NULL, p->json, NULL, NULL))
        fp->f = cs_import_detect(payload);
    json_decref(payload);
    return -1;
}

static int claim(void *ctx, const char *file, const char *doc, size_t len)
{
    struct cs_importer *imp = ctx;
    struct first fp = {CS_IMPORT_AUTO};

    if (imp->forced != CS_IMPORT_AUTO) {
        imp->cur = imp->forced;
        imp->stats.files[imp->forced]++;
        return 1;
    }
    cs_import_split(doc, len, 1, first_piece, &fp);
    if (fp.f == CS_IMPORT_AUTO ||
        (fp.f == CS_IMPORT_CANONICAL && !cs_ingest_whole(file))) {
        /* JSON Lines of records: ingest reads them as it always has. */
        if (fp.f == CS_IMPORT_CANONICAL)
            imp->stats.files[CS_IMPORT_CANONICAL]++;
        return 0;
    }
    imp->cur = fp.f;
    imp->stats.files[fp.f]++;
    if (fp.f != CS_IMPORT_CANONICAL)
        cs_log(CS_LOG_INFO, "reading '%s' as %s payloads", file,
               cs_import_format_name(fp.f));
    return 1;
}

static int convert(void *ctx, const char *file, long line, const char *doc,
                   size_t len, cs_ingest_emit_fn emit, void *run,
                   struct cs_err *err)
{
    struct doc d = {ctx, file, emit, run, err};

    return cs_import_split(doc, len, line, piece, &d);
}

/* An event held by an earlier import joins its room (its room_finished
 * too: a room refused then is completed by the delivery it lacked). */
static void on_held(void *ctx, const char *group, json_t *event)
{
    struct cs_importer *imp = ctx;
    json_t *at = json_object_get(imp->room_index, group);
    const char *kind = json_string_value(json_object_get(event, "event"));

    if (at) {
        struct room *r = &imp->rooms[json_integer_value(at)];

        json_array_append(r->events, event);
        if (kind && strcmp(kind, "room_finished") == 0)
            r->finished = 1;
    }
    json_decref(event);
}

/* The room's session history, or NULL (none, or an unusable name). A
 * file that exists but is not JSON is an error for the room. */
static int history_of(json_t **out, const struct cs_importer *imp,
                      const struct room *r, struct cs_err *err)
{
    struct cs_buf path = CS_BUF_INIT;
    json_error_t jerr;
    char *text = NULL;
    size_t len = 0;
    int ret = 0;

    *out = NULL;
    if (!imp->transcripts || !r->name || strchr(r->name, '/') ||
        r->name[0] == '.')
        return 0;
    cs_buf_addf(&path, "%s/%s.json", imp->transcripts, r->name);
    if (!cs_fs_exists(path.ptr)) {
        cs_log(CS_LOG_INFO, "no transcript for room '%s' (%s)", r->name,
               path.ptr);
        goto done;
    }
    ret = cs_fs_read(&text, &len, path.ptr, (size_t)64 << 20, err);
    if (ret)
        goto done;
    *out = json_loadb(text, len, 0, &jerr);
    if (!*out) {
        struct cs_buf why = CS_BUF_INIT;

        ret = cs_err_set(err, CS_EINVALID, "livekit transcript '%s': "
                         "invalid JSON at line %d: %s", path.ptr, jerr.line,
                         cs_import_json_why(&why, &jerr));
        cs_buf_release(&why);
    }
done:
    free(text);
    cs_buf_release(&path);
    return ret;
}

/* A room one of whose events was refused (or may have been) is not
 * recorded from what is left: CS_EINVALID saying which event. */
static int refused_event(const struct cs_importer *imp, const struct room *r,
                         struct cs_err *err)
{
    if (r->bad_file)
        return cs_err_set(err, CS_EINVALID, "livekit room '%.80s' not "
                          "recorded: its event at %s:%ld was rejected (its "
                          "other events are kept for a later import)",
                          r->sid, r->bad_file, r->bad_line);
    for (size_t i = 0; i < imp->n_bad; i++) {
        for (size_t k = 0; k < r->n_files; k++) {
            if (r->files[k] == imp->bad_files[i])
                return cs_err_set(err, CS_EINVALID, "livekit room '%.80s' "
                                  "not recorded: %s:%ld could not be read "
                                  "and may be one of its events (its "
                                  "events are kept for a later import)",
                                  r->sid, imp->bad_files[i],
                                  imp->bad_lines[i]);
        }
    }
    return 0;
}

/* Keeps the room's events of this run for a later import. */
static int hold(struct cs_importer *imp, struct room *r, struct cs_err *err)
{
    if (!imp->lookup)
        return 0;
    return cs_store_pending_put(imp->lookup, "livekit", r->sid, r->items,
                                err);
}

/*
 * Every event of this run is held (import_pending) before any room is
 * emitted, and forgotten by cs_importer_done only once its room's record
 * is stored: a room refused here, or whose record ingest rejects, or a
 * run that dies half-way, loses nothing.
 */
static int finish(void *ctx, cs_ingest_emit_fn emit, void *run,
                  struct cs_err *err)
{
    struct cs_importer *imp = ctx;
    struct doc d = {imp, NULL, emit, run, err};
    json_t *groups = json_array();
    int ret = 0;

    for (size_t i = 0; i < imp->n_rooms; i++)
        json_array_append_new(groups, json_string(imp->rooms[i].sid));
    if (imp->lookup)
        ret = cs_store_pending_get(imp->lookup, "livekit", groups, on_held,
                                   imp, err);
    for (size_t i = 0; !ret && i < imp->n_rooms; i++) {
        struct room *r = &imp->rooms[i];
        int stored = 0;

        if (!r->finished && imp->lookup)
            ret = cs_store_conv_meta(imp->lookup, NULL, r->sid, "{livekit}",
                                     &stored, err);
        if (ret)
            break;
        if (stored) {
            /* Late deliveries for a room already recorded. */
            r->late = 1;
            imp->stats.events_late += json_array_size(r->items);
            tell(imp, r->file, r->line, "late", r->sid);
            cs_log(CS_LOG_WARN, "%s:%ld: %zu event(s) of room '%s', which "
                   "is already stored: not used", r->file, r->line,
                   json_array_size(r->items), r->sid);
            continue;
        }
        ret = hold(imp, r, err);
    }
    for (size_t i = 0; !ret && i < imp->n_rooms; i++) {
        struct room *r = &imp->rooms[i];
        struct cs_err rerr = {0, ""};
        json_t *history = NULL, *record = NULL;

        if (r->late)
            continue;
        if (!r->finished) {
            tell(imp, r->file, r->line, "pending", r->sid);
            imp->stats.rooms_pending++;
            imp->stats.events_pending += json_array_size(r->events);
            continue;
        }
        if (refused_event(imp, r, &rerr) ||
            history_of(&history, imp, r, &rerr) ||
            cs_import_livekit_room(&record, r->events, history, imp->o,
                                   &rerr)) {
            /* Refused: its events stay held. */
            reject(&d, r->file, r->line, rerr.msg, NULL, 0);
        } else {
            emit_record(&d, r->file, r->line, record, NULL, 0);
            imp->stats.rooms_done++;
        }
        json_decref(history);
        json_decref(record);
    }
    json_decref(groups);
    return ret;
}

int cs_importer_new(struct cs_importer **out, enum cs_import_format f,
                    const struct cs_import_opts *o, struct cs_store *lookup,
                    const char *transcripts_dir, struct cs_err *err)
{
    struct cs_importer *imp;

    (void)err;
    imp = cs_xcalloc(1, sizeof(*imp));
    imp->forced = f;
    imp->cur = f;
    imp->o = o;
    imp->lookup = lookup;
    imp->transcripts = transcripts_dir;
    imp->skipped_kinds = json_object();
    imp->analyzed = json_object();
    imp->room_index = json_object();
    imp->stats.skipped_kinds = imp->skipped_kinds;
    imp->conv.claim = claim;
    imp->conv.convert = convert;
    imp->conv.finish = finish;
    imp->conv.ctx = imp;
    *out = imp;
    return 0;
}

const struct cs_ingest_conv *cs_importer_conv(struct cs_importer *imp)
{
    return &imp->conv;
}

int cs_importer_done(struct cs_importer *imp, struct cs_err *err)
{
    if (!imp->lookup || imp->n_rooms == 0)
        return 0;
    return cs_store_pending_drop(imp->lookup, "livekit", NULL, NULL, err);
}

void cs_importer_trace(struct cs_importer *imp, cs_import_trace_fn fn,
                       void *ctx)
{
    imp->trace = fn;
    imp->trace_ctx = ctx;
}

const struct cs_import_stats *cs_importer_stats(const struct cs_importer *imp)
{
    return &imp->stats;
}

void cs_importer_free(struct cs_importer *imp)
{
    if (!imp)
        return;
    for (size_t i = 0; i < imp->n_rooms; i++) {
        free(imp->rooms[i].sid);
        free(imp->rooms[i].name);
        free(imp->rooms[i].files);
        json_decref(imp->rooms[i].items);
        json_decref(imp->rooms[i].events);
    }
    free(imp->rooms);
    free(imp->bad_files);
    free(imp->bad_lines);
    for (size_t i = 0; i < imp->n_files; i++)
        free(imp->files[i]);
    free(imp->files);
    json_decref(imp->skipped_kinds);
    json_decref(imp->analyzed);
    json_decref(imp->room_index);
    free(imp);
}
