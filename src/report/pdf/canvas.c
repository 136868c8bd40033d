/* canvas.c - PDF pages to draw on: text measured with the font, shapes */
#include "report/pdf/canvas.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hpdf.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/mem.h"

struct cs_rgb CS_INK = {0.12f, 0.16f, 0.22f};
struct cs_rgb CS_MUTED = {0.42f, 0.45f, 0.50f};
struct cs_rgb CS_RULE = {0.82f, 0.84f, 0.87f};
struct cs_rgb CS_GOOD = {0.08f, 0.50f, 0.24f};
struct cs_rgb CS_BAD = {0.73f, 0.11f, 0.11f};
struct cs_rgb CS_NEUTRAL = {0.42f, 0.45f, 0.50f};
struct cs_rgb CS_ACCENT = {0.11f, 0.31f, 0.85f};
struct cs_rgb CS_ACCENT_LIGHT = {0.75f, 0.82f, 0.98f};
struct cs_rgb CS_FILL = {0.96f, 0.97f, 0.98f};
struct cs_rgb CS_WHITE = {1.0f, 1.0f, 1.0f};
struct cs_rgb CS_WARN = {0.85f, 0.47f, 0.02f};

int cs_canvas_set_color(const char *name, const char *hex,
                        struct cs_err *err)
{
    static const struct {
        const char *name;
        struct cs_rgb *rgb;
    } named[] = {{"ink", &CS_INK},          {"muted", &CS_MUTED},
                 {"good", &CS_GOOD},        {"bad", &CS_BAD},
                 {"warning", &CS_WARN},     {"accent", &CS_ACCENT},
                 {"accent_light", &CS_ACCENT_LIGHT}};
    unsigned v[3];

    for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
        if (strcmp(named[i].name, name) != 0)
            continue;
        if (strlen(hex) != 7 || hex[0] != '#' ||
            strspn(hex + 1, "0123456789abcdefABCDEF") != 6 ||
            sscanf(hex + 1, "%2x%2x%2x", &v[0], &v[1], &v[2]) != 3)
            return cs_err_set(err, CS_EINVALID, "'report.colors.%s': "
                              "expected \"#rrggbb\", not '%s'", name, hex);
        named[i].rgb->r = (float)v[0] / 255.0f;
        named[i].rgb->g = (float)v[1] / 255.0f;
        named[i].rgb->b = (float)v[2] / 255.0f;
        return 0;
    }
    return cs_err_set(err, CS_EINVALID, "'report.colors.%s': unknown colour "
                      "(ink, muted, good, bad, warning, accent, "
                      "accent_light)", name);
}

struct cs_canvas {
    HPDF_Doc doc;
    HPDF_Font font[2];
    HPDF_Page *pages;
    size_t n_pages;
    HPDF_Page page;
    int letter;
    /* The first error, with the step being drawn then. */
    HPDF_STATUS error;
    HPDF_STATUS detail;
    char step[160];
    char failed_step[160];
};

static void HPDF_STDCALL on_error(HPDF_STATUS error, HPDF_STATUS detail,
                                  void *user)
{
    struct cs_canvas *c = user;

    if (c->error)
        return;
    c->error = error;
    c->detail = detail;
    snprintf(c->failed_step, sizeof(c->failed_step), "%s", c->step);
}

int cs_canvas_failed(const struct cs_canvas *c)
{
    return c->error != 0;
}

void cs_canvas_step(struct cs_canvas *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->step, sizeof(c->step), fmt, ap);
    va_end(ap);
}

/* The font file: configured, else DejaVu where Debian puts it. */
static int find_font(char **out, const char *configured, const char *name,
                     struct cs_err *err)
{
    static const char *const dirs[] = {
        "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu",
        "/usr/share/fonts/TTF", "/usr/local/share/fonts", NULL};
    struct cs_buf p = CS_BUF_INIT;

    *out = NULL;
    if (configured) {
        if (!cs_fs_exists(configured))
            return cs_err_set(err, CS_EINVALID, "font '%s' (report.fonts) "
                              "does not exist", configured);
        *out = cs_xstrdup(configured);
        return 0;
    }
    for (const char *const *d = dirs; *d; d++) {
        cs_buf_reset(&p);
        cs_buf_addf(&p, "%s/%s", *d, name);
        if (cs_fs_exists(p.ptr)) {
            *out = cs_buf_detach(&p, NULL);
            return 0;
        }
    }
    cs_buf_release(&p);
    return cs_err_set(err, CS_EINVALID, "font '%s' not found in "
                      "/usr/share/fonts/truetype/dejavu or the other usual "
                      "places: install fonts-dejavu-core, or name the files "
                      "in the config (report.fonts.regular, "
                      "report.fonts.bold)", name);
}

static int error_out(struct cs_canvas *c, struct cs_err *err)
{
    return cs_err_set(err, CS_ERROR, "PDF error 0x%04X (detail %u) while "
                      "drawing %s", (unsigned)c->error, (unsigned)c->detail,
                      *c->failed_step ? c->failed_step : "the document");
}

int cs_canvas_new(struct cs_canvas **out, const struct cs_canvas_opts *o,
                  struct cs_err *err)
{
    struct cs_canvas *c = cs_xcalloc(1, sizeof(*c));
    const char *names[2] = {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf"};
    const char *conf[2] = {o->font_regular, o->font_bold};
    int ret = 0;

    *out = NULL;
    c->letter = o->letter;
    c->doc = HPDF_New(on_error, c);
    if (!c->doc) {
        ret = cs_err_set(err, CS_ERROR, "cannot create a PDF document");
        goto done;
    }
    cs_canvas_step(c, "the document setup");
    HPDF_SetCompressionMode(c->doc, HPDF_COMP_ALL);
    HPDF_UseUTFEncodings(c->doc);
    HPDF_SetCurrentEncoder(c->doc, "UTF-8");
    for (int i = 0; i < 2 && !ret; i++) {
        char *path = NULL;
        const char *fname;

        ret = find_font(&path, conf[i], names[i], err);
        if (ret)
            break;
        cs_canvas_step(c, "loading the font '%s'", path);
        fname = HPDF_LoadTTFontFromFile(c->doc, path, HPDF_TRUE);
        if (fname)
            c->font[i] = HPDF_GetFont(c->doc, fname, "UTF-8");
        if (!c->font[i])
            ret = cs_err_set(err, CS_EINVALID, "font '%s' cannot be used "
                             "(PDF error 0x%04X): is it a TrueType file?",
                             path, (unsigned)c->error);
        free(path);
    }
    if (ret)
        goto done;
    if (o->title)
        HPDF_SetInfoAttr(c->doc, HPDF_INFO_TITLE, o->title);
    if (o->subject)
        HPDF_SetInfoAttr(c->doc, HPDF_INFO_SUBJECT, o->subject);
    if (o->author)
        HPDF_SetInfoAttr(c->doc, HPDF_INFO_AUTHOR, o->author);
    HPDF_SetInfoAttr(c->doc, HPDF_INFO_CREATOR, "callscope");
    if (c->error)
        ret = error_out(c, err);
done:
    if (ret) {
        cs_canvas_free(c);
        return ret;
    }
    *out = c;
    return 0;
}

void cs_canvas_free(struct cs_canvas *c)
{
    if (!c)
        return;
    if (c->doc)
        HPDF_Free(c->doc);
    free(c->pages);
    free(c);
}

int cs_canvas_save(struct cs_canvas *c, const char *path, struct cs_err *err)
{
    if (!c->error) {
        cs_canvas_step(c, "saving '%s'", path);
        HPDF_SaveToFile(c->doc, path);
    }
    if (c->error)
        return error_out(c, err);
    return 0;
}

void cs_canvas_add_page(struct cs_canvas *c)
{
    HPDF_Page p;

    if (c->error)
        return;
    p = HPDF_AddPage(c->doc);
    if (!p)
        return;
    HPDF_Page_SetSize(p, c->letter ? HPDF_PAGE_SIZE_LETTER
                                   : HPDF_PAGE_SIZE_A4,
                      HPDF_PAGE_PORTRAIT);
    c->pages = cs_xrealloc(c->pages, (c->n_pages + 1) * sizeof(*c->pages));
    c->pages[c->n_pages++] = p;
    c->page = p;
}

size_t cs_canvas_pages(const struct cs_canvas *c)
{
    return c->n_pages;
}

void cs_canvas_use_page(struct cs_canvas *c, size_t i)
{
    if (i < c->n_pages)
        c->page = c->pages[i];
}

double cs_canvas_page_width(const struct cs_canvas *c)
{
    return c->letter ? 612.0 : 595.276;
}

double cs_canvas_page_height(const struct cs_canvas *c)
{
    return c->letter ? 792.0 : 841.89;
}

static int ready(const struct cs_canvas *c)
{
    return !c->error && c->page;
}

double cs_canvas_text_width(struct cs_canvas *c, enum cs_font f, double size,
                            const char *s)
{
    if (!ready(c) || !*s)
        return 0;
    HPDF_Page_SetFontAndSize(c->page, c->font[f], (HPDF_REAL)size);
    return HPDF_Page_TextWidth(c->page, s);
}

void cs_canvas_text(struct cs_canvas *c, enum cs_font f, double size,
                    struct cs_rgb ink, double x, double y, enum cs_align a,
                    const char *s)
{
    double w;

    if (!ready(c) || !*s)
        return;
    w = cs_canvas_text_width(c, f, size, s);
    if (a == CS_ALIGN_RIGHT)
        x -= w;
    else if (a == CS_ALIGN_CENTER)
        x -= w / 2;
    HPDF_Page_BeginText(c->page);
    HPDF_Page_SetFontAndSize(c->page, c->font[f], (HPDF_REAL)size);
    HPDF_Page_SetRGBFill(c->page, ink.r, ink.g, ink.b);
    HPDF_Page_TextOut(c->page, (HPDF_REAL)x, (HPDF_REAL)y, s);
    HPDF_Page_EndText(c->page);
}

/* Bytes of the first n code points of s. */
static size_t utf8_prefix(const char *s, size_t n)
{
    size_t i = 0;

    while (s[i] && n) {
        i++;
        while (((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        n--;
    }
    return i;
}

static size_t utf8_count(const char *s)
{
    size_t n = 0;

    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

char *cs_canvas_fit(struct cs_canvas *c, enum cs_font f, double size,
                    const char *s, double max_w)
{
    struct cs_buf b = CS_BUF_INIT;
    size_t lo = 0, hi = utf8_count(s);

    if (cs_canvas_text_width(c, f, size, s) <= max_w)
        return cs_xstrdup(s);
    /* The longest prefix that fits with "…" after it. */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;

        cs_buf_reset(&b);
        cs_buf_add(&b, s, utf8_prefix(s, mid));
        cs_buf_adds(&b, "\xe2\x80\xa6");
        if (cs_canvas_text_width(c, f, size, b.ptr) <= max_w)
            lo = mid;
        else
            hi = mid - 1;
    }
    cs_buf_reset(&b);
    cs_buf_add(&b, s, utf8_prefix(s, lo));
    while (b.len && b.ptr[b.len - 1] == ' ')
        b.ptr[--b.len] = '\0';
    cs_buf_adds(&b, "\xe2\x80\xa6");
    return cs_buf_detach(&b, NULL);
}

void cs_canvas_text_fit(struct cs_canvas *c, enum cs_font f, double size,
                        struct cs_rgb ink, double x, double y,
                        enum cs_align a, double max_w, const char *s)
{
    char *t = cs_canvas_fit(c, f, size, s, max_w);

    cs_canvas_text(c, f, size, ink, x, y, a, t);
    free(t);
}

/* One word (or piece) of wrapped text with its font. */
struct piece {
    char *text;
    enum cs_font font;
    int space_before;
    int newline_before;
};

/* Splits text into words, "**" toggling bold, "\n" breaking lines. */
static struct piece *split_words(const char *s, enum cs_font base,
                                 size_t *n_out)
{
    struct piece *v = NULL;
    size_t n = 0;
    int bold = 0, space = 0, nl = 0;
    struct cs_buf w = CS_BUF_INIT;

    for (const char *p = s;; p++) {
        int end = *p == '\0' || *p == ' ' || *p == '\n' ||
                  strncmp(p, "**", 2) == 0;

        if (end && w.len) {
            v = cs_xrealloc(v, (n + 1) * sizeof(*v));
            v[n].text = cs_buf_detach(&w, NULL);
            v[n].font = bold ? CS_FONT_BOLD : base;
            v[n].space_before = space;
            v[n].newline_before = nl;
            n++;
            space = nl = 0;
        }
        if (*p == '\0')
            break;
        if (*p == ' ')
            space = 1;
        else if (*p == '\n')
            nl = 1;
        else if (strncmp(p, "**", 2) == 0) {
            bold = !bold;
            p++;
        } else
            cs_buf_addch(&w, *p);
    }
    cs_buf_release(&w);
    *n_out = n;
    return v;
}

int cs_canvas_wrap(struct cs_canvas *c, enum cs_font f, double size,
                   struct cs_rgb ink, double x, double y, double w,
                   double leading, int max_lines, const char *s, int draw)
{
    size_t n = 0, i = 0;
    struct piece *v = split_words(s, f, &n);
    double space_w = cs_canvas_text_width(c, f, size, " ");
    int lines = 0;

    while (i < n) {
        /* Take the pieces that fit on this line. */
        size_t start = i;
        double used = 0;
        int last_line = max_lines > 0 && lines + 1 == max_lines;

        while (i < n) {
            double pw = cs_canvas_text_width(c, v[i].font, size, v[i].text);
            double gap = (i > start && v[i].space_before) ? space_w : 0;

            if (i > start && v[i].newline_before)
                break;
            if (used + gap + pw > w) {
                if (i == start) {
                    /* A word longer than the line: cut it here. */
                    char *cut = cs_canvas_fit(c, v[i].font, size, v[i].text,
                                              w);

                    free(v[i].text);
                    v[i].text = cut;
                    i++;
                }
                break;
            }
            used += gap + pw;
            i++;
        }
        if (last_line && i < n && i > start) {
            /* Text is left: end the last line with "…". */
            struct cs_buf t = CS_BUF_INIT;
            char *cut;

            cs_buf_adds(&t, v[i - 1].text);
            cs_buf_adds(&t, "\xe2\x80\xa6");
            cut = cs_canvas_fit(c, v[i - 1].font, size, t.ptr,
                                w - (used - cs_canvas_text_width(
                                             c, v[i - 1].font, size,
                                             v[i - 1].text)));
            free(v[i - 1].text);
            v[i - 1].text = cut;
            cs_buf_release(&t);
        }
        if (draw) {
            double px = x;

            for (size_t k = start; k < i; k++) {
                if (k > start && v[k].space_before)
                    px += space_w;
                cs_canvas_text(c, v[k].font, size, ink, px, y, CS_ALIGN_LEFT,
                               v[k].text);
                px += cs_canvas_text_width(c, v[k].font, size, v[k].text);
            }
        }
        y -= leading;
        lines++;
        if (last_line)
            break;
    }
    for (size_t k = 0; k < n; k++)
        free(v[k].text);
    free(v);
    return lines;
}

void cs_canvas_rect(struct cs_canvas *c, double x, double y, double w,
                    double h, const struct cs_rgb *fill,
                    const struct cs_rgb *stroke, double line_w)
{
    if (!ready(c) || w <= 0 || h <= 0)
        return;
    HPDF_Page_GSave(c->page);
    if (fill)
        HPDF_Page_SetRGBFill(c->page, fill->r, fill->g, fill->b);
    if (stroke) {
        HPDF_Page_SetRGBStroke(c->page, stroke->r, stroke->g, stroke->b);
        HPDF_Page_SetLineWidth(c->page, (HPDF_REAL)line_w);
    }
    HPDF_Page_Rectangle(c->page, (HPDF_REAL)x, (HPDF_REAL)y, (HPDF_REAL)w,
                        (HPDF_REAL)h);
    if (fill && stroke)
        HPDF_Page_FillStroke(c->page);
    else if (fill)
        HPDF_Page_Fill(c->page);
    else
        HPDF_Page_Stroke(c->page);
    HPDF_Page_GRestore(c->page);
}

void cs_canvas_line(struct cs_canvas *c, double x1, double y1, double x2,
                    double y2, struct cs_rgb ink, double line_w, int dashed)
{
    static const HPDF_UINT16 dash[] = {2, 2};

    if (!ready(c))
        return;
    HPDF_Page_GSave(c->page);
    HPDF_Page_SetRGBStroke(c->page, ink.r, ink.g, ink.b);
    HPDF_Page_SetLineWidth(c->page, (HPDF_REAL)line_w);
    if (dashed)
        HPDF_Page_SetDash(c->page, dash, 2, 0);
    HPDF_Page_MoveTo(c->page, (HPDF_REAL)x1, (HPDF_REAL)y1);
    HPDF_Page_LineTo(c->page, (HPDF_REAL)x2, (HPDF_REAL)y2);
    HPDF_Page_Stroke(c->page);
    HPDF_Page_GRestore(c->page);
}

void cs_canvas_polyline(struct cs_canvas *c, const double *xs,
                        const double *ys, size_t n, struct cs_rgb ink,
                        double line_w)
{
    int open = 0, any = 0;

    if (!ready(c))
        return;
    for (size_t i = 0; i < n; i++)
        any |= !isnan(ys[i]);
    if (!any)
        return; /* no path: stroking one would be an error */
    HPDF_Page_GSave(c->page);
    HPDF_Page_SetRGBStroke(c->page, ink.r, ink.g, ink.b);
    HPDF_Page_SetLineWidth(c->page, (HPDF_REAL)line_w);
    HPDF_Page_SetLineJoin(c->page, HPDF_ROUND_JOIN);
    HPDF_Page_SetLineCap(c->page, HPDF_ROUND_END);
    for (size_t i = 0; i < n; i++) {
        if (isnan(ys[i])) {
            open = 0;
            continue;
        }
        if (!open) {
            /* A lone point still shows: a dot-length segment. */
            HPDF_Page_MoveTo(c->page, (HPDF_REAL)xs[i], (HPDF_REAL)ys[i]);
            if (i + 1 >= n || isnan(ys[i + 1]))
                HPDF_Page_LineTo(c->page, (HPDF_REAL)(xs[i] + 0.01),
                                 (HPDF_REAL)ys[i]);
            open = 1;
        } else {
            HPDF_Page_LineTo(c->page, (HPDF_REAL)xs[i], (HPDF_REAL)ys[i]);
        }
    }
    HPDF_Page_Stroke(c->page);
    HPDF_Page_GRestore(c->page);
}

void cs_canvas_circle(struct cs_canvas *c, double x, double y, double r,
                      struct cs_rgb fill)
{
    if (!ready(c))
        return;
    HPDF_Page_GSave(c->page);
    HPDF_Page_SetRGBFill(c->page, fill.r, fill.g, fill.b);
    HPDF_Page_Circle(c->page, (HPDF_REAL)x, (HPDF_REAL)y, (HPDF_REAL)r);
    HPDF_Page_Fill(c->page);
    HPDF_Page_GRestore(c->page);
}

int cs_canvas_image(struct cs_canvas *c, const char *path, double x,
                    double y, double w, double h, struct cs_err *err)
{
    unsigned char sig[8] = {0};
    HPDF_Image img = NULL;
    double iw, ih, scale;
    FILE *f;

    if (!ready(c))
        return 0;
    f = fopen(path, "rb");
    if (!f)
        return cs_err_set(err, CS_EINVALID, "logo '%s' cannot be read",
                          path);
    if (fread(sig, 1, sizeof(sig), f) < 3)
        sig[0] = 0;
    fclose(f);
    cs_canvas_step(c, "the logo '%s'", path);
    if (memcmp(sig, "\x89PNG", 4) == 0)
        img = HPDF_LoadPngImageFromFile(c->doc, path);
    else if (sig[0] == 0xff && sig[1] == 0xd8 && sig[2] == 0xff)
        img = HPDF_LoadJpegImageFromFile(c->doc, path);
    else
        return cs_err_set(err, CS_EINVALID, "logo '%s' is neither PNG nor "
                          "JPEG", path);
    if (!img) {
        int code = (int)c->error;

        /* Not a drawing error: say so now and let drawing go on. */
        HPDF_ResetError(c->doc);
        c->error = 0;
        return cs_err_set(err, CS_EINVALID, "logo '%s' cannot be loaded "
                          "(PDF error 0x%04X)", path, (unsigned)code);
    }
    iw = HPDF_Image_GetWidth(img);
    ih = HPDF_Image_GetHeight(img);
    if (iw <= 0 || ih <= 0)
        return 0;
    scale = fmin(w / iw, h / ih);
    HPDF_Page_DrawImage(c->page, img, (HPDF_REAL)(x + w - iw * scale),
                        (HPDF_REAL)(y + (h - ih * scale) / 2),
                        (HPDF_REAL)(iw * scale), (HPDF_REAL)(ih * scale));
    return 0;
}
