#include "ml/report_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Tableau 10: distinguishable, print-safe, and colour-blind tolerable. */
static const char *const palette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define NPALETTE (sizeof palette / sizeof palette[0])

/* Labels longer than this many characters are shortened in the charts
 * (the full label stays in the tooltip and in the table). */
#define CHART_LABEL_MAX 18

static const char *css =
    ":root{--ink:#1f2933;--mute:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--accent:#2f6fb0}"
    "*{box-sizing:border-box}"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:15px/1.5 -apple-system,BlinkMacSystemFont,\"Segoe UI\",Roboto,Helvetica,Arial,"
    "sans-serif}"
    "main{max-width:1120px;margin:0 auto;padding:32px 24px 48px}"
    "header h1{margin:0 0 4px;font-size:26px;font-weight:650;letter-spacing:-.01em}"
    "header .sub{margin:0;color:var(--mute)}"
    "dl.info{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:14px 0 0;"
    "font-size:14px}"
    "dl.info dt{color:var(--mute)}dl.info dd{margin:0;word-break:break-all}"
    "section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:20px 24px;"
    "margin-top:20px}"
    "h2{font-size:17px;margin:0 0 14px;font-weight:620}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px;"
    "background:none;border:0;padding:0}"
    ".card{background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px}"
    ".card .k{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--mute)}"
    ".card .v{font-size:26px;font-weight:620;font-variant-numeric:tabular-nums;margin-top:2px}"
    ".card .d{font-size:12px;color:var(--mute)}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:7px 10px;border-bottom:1px solid var(--line);text-align:right}"
    "th{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:var(--mute);"
    "font-weight:600}"
    "th:first-child,td:first-child{text-align:left;word-break:break-word}"
    "tbody tr:nth-child(even){background:#fafbfc}"
    "tfoot td{font-weight:600;border-bottom:0}"
    "td.bar{width:22%}"
    "td.bar span{display:block;height:8px;border-radius:4px;background:var(--accent)}"
    ".figs{display:flex;flex-wrap:wrap;gap:24px}"
    "figure{margin:0;flex:1 1 420px;min-width:0}"
    "figure svg{max-width:100%;height:auto;display:block}"
    "figcaption{font-weight:620;margin-bottom:8px}"
    "svg text{font-family:inherit;fill:var(--ink)}"
    ".notes{color:#8a4b08;background:#fff8eb;border-color:#f5d9a8}"
    ".notes ul{margin:0;padding-left:20px}"
    "footer{margin-top:28px;color:var(--mute);font-size:12px;text-align:center}";

void mp_html_escape(mp_buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': mp_buf_puts(out, "&amp;"); break;
        case '<': mp_buf_puts(out, "&lt;"); break;
        case '>': mp_buf_puts(out, "&gt;"); break;
        case '"': mp_buf_puts(out, "&quot;"); break;
        case '\'': mp_buf_puts(out, "&#39;"); break;
        default:
            mp_buf_putc(out, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
        }
    }
}

/* ---- small helpers ------------------------------------------------------ */

static const char *label_of(const mp_report *r, size_t c, char *tmp, size_t ntmp)
{
    if (r->labels && r->labels[c])
        return r->labels[c];
    snprintf(tmp, ntmp, "%zu", c);
    return tmp;
}

static size_t utf8_len(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

/* Escaped label, shortened to max characters by cutting out its middle:
 * labels often share a prefix ("class label 10", "class label 11"), so
 * the end is kept too. */
static void short_label(mp_buf *out, const char *s, size_t max)
{
    size_t len = utf8_len(s);
    if (len <= max || max < 3) {
        mp_html_escape(out, s);
        return;
    }
    size_t head = (max - 1) / 2, tail = max - 1 - head;
    char part[4 * CHART_LABEL_MAX + 1];
    size_t chars = 0, i = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if ((*p & 0xC0) != 0x80 && chars++ == head)
            break;
        if (i < sizeof part - 1)
            part[i++] = (char)*p;
    }
    part[i] = '\0';
    mp_html_escape(out, part);
    mp_buf_puts(out, "\xe2\x80\xa6");
    /* Skip to the start of the last `tail` characters. */
    size_t skip = len - head - tail;
    for (chars = 0; *p; p++)
        if ((*p & 0xC0) != 0x80 && chars++ == skip)
            break;
    mp_html_escape(out, (const char *)p);
}

static void put_num(mp_buf *out, double v, const char *fmt)
{
    if (isnan(v))
        mp_buf_puts(out, "n/a");
    else
        mp_buf_printf(out, fmt, v);
}

static void card(mp_buf *out, const char *key, double v, const char *fmt, const char *detail)
{
    mp_buf_puts(out, "<div class=\"card\"><div class=\"k\">");
    mp_buf_puts(out, key);
    mp_buf_puts(out, "</div><div class=\"v\">");
    put_num(out, v, fmt);
    mp_buf_puts(out, "</div>");
    if (detail) {
        mp_buf_puts(out, "<div class=\"d\">");
        mp_html_escape(out, detail);
        mp_buf_puts(out, "</div>");
    }
    mp_buf_puts(out, "</div>");
}

/* Tick step of 1, 2 or 5 times a power of ten giving about `want` ticks. */
static double nice_step(double range, int want)
{
    double raw = range / want;
    double p = pow(10, floor(log10(raw)));
    double f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* ---- classification ----------------------------------------------------- */

static void class_cards(const mp_report *r, mp_buf *out)
{
    const mp_class_metrics *m = r->cls;
    char d[64];
    mp_buf_puts(out, "<section class=\"cards\">");
    snprintf(d, sizeof d, "%zu of %zu correct", m->correct, m->n);
    card(out, "Accuracy", m->accuracy * 100, "%.1f%%", d);
    card(out, "Macro F1", m->macro_f1, "%.3f", "unweighted mean over classes");
    card(out, "Weighted F1", m->weighted_f1, "%.3f", "weighted by support");
    card(out, "Macro precision", m->macro_precision, "%.3f", NULL);
    card(out, "Macro recall", m->macro_recall, "%.3f", NULL);
    if (m->has_proba) {
        card(out, "Log loss", m->log_loss, "%.4f", "lower is better");
        char tmp[32], pos[96];
        if (m->k == 2) {
            /* Cut at a character boundary so the escape sees valid text. */
            const char *l = label_of(r, 1, tmp, sizeof tmp);
            size_t n = strlen(l) < 60 ? strlen(l) : 60;
            while (n > 0 && n < strlen(l) && ((unsigned char)l[n] & 0xC0) == 0x80)
                n--;
            snprintf(pos, sizeof pos, "positive class: %.*s%s", (int)n, l,
                     n < strlen(l) ? "\xe2\x80\xa6" : "");
        }
        card(out, "ROC AUC", m->roc_auc, "%.3f", m->k == 2 ? pos : "one-vs-rest, macro");
    }
    mp_buf_puts(out, "</section>\n");
}

static void class_table(const mp_report *r, mp_buf *out)
{
    const mp_class_metrics *m = r->cls;
    char tmp[32];
    int auc = m->has_proba && m->roc && m->k > 2;
    mp_buf_puts(out, "<section><h2>Per-class results</h2><table><thead><tr><th>Class</th>"
                     "<th>Precision</th><th>Recall</th><th>F1</th><th>Support</th>");
    if (auc)
        mp_buf_puts(out, "<th>ROC AUC</th>");
    mp_buf_puts(out, "<th></th></tr></thead><tbody>");
    for (size_t c = 0; c < m->k; c++) {
        mp_buf_puts(out, "<tr><td>");
        mp_html_escape(out, label_of(r, c, tmp, sizeof tmp));
        mp_buf_printf(out, "</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%zu</td>",
                      m->precision[c], m->recall[c], m->f1[c], m->support[c]);
        if (auc) {
            mp_buf_puts(out, "<td>");
            put_num(out, m->roc[c].auc, "%.4f");
            mp_buf_puts(out, "</td>");
        }
        mp_buf_printf(out, "<td class=\"bar\"><span style=\"width:%.1f%%\"></span></td></tr>",
                      m->f1[c] * 100);
    }
    mp_buf_puts(out, "</tbody><tfoot>");
    const char *names[2] = {"Macro average", "Weighted average"};
    double v[2][3] = {{m->macro_precision, m->macro_recall, m->macro_f1},
                      {m->weighted_precision, m->weighted_recall, m->weighted_f1}};
    for (int i = 0; i < 2; i++) {
        mp_buf_printf(out, "<tr><td>%s</td><td>%.4f</td><td>%.4f</td><td>%.4f</td><td>%zu</td>",
                      names[i], v[i][0], v[i][1], v[i][2], m->n);
        if (auc) {
            mp_buf_puts(out, "<td>");
            if (i == 0)
                put_num(out, m->roc_auc, "%.4f");
            mp_buf_puts(out, "</td>");
        }
        mp_buf_puts(out, "<td></td></tr>");
    }
    mp_buf_puts(out, "</tfoot></table></section>\n");
}

/* Interpolates white-blue by t in [0, 1] (ColorBrewer "Blues" ends). */
static void heat_colour(double t, char *buf, size_t n)
{
    static const double lo[3] = {247, 251, 255}, hi[3] = {8, 48, 107};
    int c[3];
    for (int i = 0; i < 3; i++)
        c[i] = (int)lround(lo[i] + (hi[i] - lo[i]) * t);
    snprintf(buf, n, "#%02x%02x%02x", c[0], c[1], c[2]);
}

static void confusion_svg(const mp_report *r, mp_buf *out)
{
    const mp_class_metrics *m = r->cls;
    size_t k = m->k;
    char tmp[32], tmp2[32], col[16];
    double cs = 480.0 / (double)k;
    cs = cs > 64 ? 64 : cs < 14 ? 14 : cs;
    size_t maxlab = 1;
    for (size_t c = 0; c < k; c++) {
        size_t w = utf8_len(label_of(r, c, tmp, sizeof tmp));
        if (w > maxlab)
            maxlab = w;
    }
    if (maxlab > CHART_LABEL_MAX)
        maxlab = CHART_LABEL_MAX;
    double fs = cs * 0.36 > 13 ? 13 : cs * 0.36 < 8 ? 8 : cs * 0.36;
    double labw = (double)maxlab * 7.2 + 10;
    int rotate = labw > cs;
    double left = 30 + labw;
    double top = rotate ? 34 + labw * 0.72 : 50;
    double gw = cs * (double)k;
    double right = rotate && labw * 0.72 + 10 > 70 ? labw * 0.72 + 10 : 70;
    double width = left + gw + right, height = top + gw + 16;

    mp_buf_printf(out, "<figure><figcaption>Confusion matrix</figcaption>"
                       "<svg class=\"confusion\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                       "height=\"%.0f\" role=\"img\" aria-label=\"confusion matrix\">",
                  width, height, width, height);
    mp_buf_printf(out, "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\" font-size=\"12\" "
                       "font-weight=\"600\">predicted</text>",
                  left + gw / 2);
    mp_buf_printf(out, "<text transform=\"translate(12 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                       "font-size=\"12\" font-weight=\"600\">actual</text>",
                  top + gw / 2);
    for (size_t c = 0; c < k; c++) {
        const char *l = label_of(r, c, tmp, sizeof tmp);
        double cx = left + cs * ((double)c + 0.5), cy = top + cs * ((double)c + 0.5);
        if (rotate)
            mp_buf_printf(out, "<text transform=\"translate(%.1f %.1f) rotate(-45)\" "
                               "font-size=\"11\">",
                          cx, top - 6);
        else
            mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                               "font-size=\"11\">",
                          cx, top - 8);
        mp_buf_puts(out, "<title>");
        mp_html_escape(out, l);
        mp_buf_puts(out, "</title>");
        short_label(out, l, CHART_LABEL_MAX);
        mp_buf_puts(out, "</text>");
        mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                           "dominant-baseline=\"middle\" font-size=\"11\"><title>",
                      left - 6, cy);
        mp_html_escape(out, l);
        mp_buf_puts(out, "</title>");
        short_label(out, l, CHART_LABEL_MAX);
        mp_buf_puts(out, "</text>");
    }
    for (size_t a = 0; a < k; a++) {
        size_t rowsum = m->support[a];
        for (size_t p = 0; p < k; p++) {
            size_t cnt = m->confusion[a * k + p];
            double t = rowsum ? (double)cnt / (double)rowsum : 0;
            heat_colour(t, col, sizeof col);
            double x = left + cs * (double)p, y = top + cs * (double)a;
            mp_buf_printf(out, "<g><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                               "fill=\"%s\" stroke=\"#fff\"/>",
                          x, y, cs, cs, col);
            mp_buf_puts(out, "<title>actual ");
            mp_html_escape(out, label_of(r, a, tmp, sizeof tmp));
            mp_buf_puts(out, ", predicted ");
            mp_html_escape(out, label_of(r, p, tmp2, sizeof tmp2));
            mp_buf_printf(out, ": %zu (%.1f%% of the row)</title>", cnt, t * 100);
            mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
                               "dominant-baseline=\"central\" font-size=\"%.1f\"%s>%zu</text></g>",
                          x + cs / 2, y + cs / 2, fs,
                          t > 0.5 ? " style=\"fill:#fff\"" : "", cnt);
        }
    }
    /* Colour scale: ten steps from 0% to 100% of the row. */
    double lx = left + gw + 22, lh = gw / 10;
    for (int i = 0; i < 10; i++) {
        heat_colour((9 - i) / 9.0, col, sizeof col);
        mp_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"%.1f\" fill=\"%s\"/>",
                      lx, top + lh * i, lh + 0.5, col);
    }
    mp_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"%.1f\" fill=\"none\" "
                       "stroke=\"#cbd2d9\"/>",
                  lx, top, gw);
    mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" dominant-baseline=\"hanging\">"
                       "100%%</text><text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">0%%</text>",
                  lx + 16, top, lx + 16, top + gw);
    mp_buf_puts(out, "</svg><p style=\"font-size:12px;color:#616e7c;margin:6px 0 0\">"
                     "Colour: share of the actual class (row); numbers: counts.</p></figure>");
}

static void roc_svg(const mp_report *r, mp_buf *out)
{
    const mp_class_metrics *m = r->cls;
    char tmp[32];
    const double L = 52, T = 14, S = 340; /* plot origin and side */
    size_t first = m->k == 2 ? 1 : 0, last = m->k == 2 ? 2 : m->k;
    size_t nleg = last - first;
    double legh = 18.0 * (double)nleg;
    double width = L + S + 16, height = T + S + 44;
    double legx = L + S + 24;
    if (m->k > 2)
        width = legx + 200;
    if (m->k > 2 && T + legh + 10 > height)
        height = T + legh + 10;

    mp_buf_printf(out, "<figure><figcaption>ROC curve%s</figcaption>"
                       "<svg class=\"roc\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                       "height=\"%.0f\" role=\"img\" aria-label=\"ROC curve\">",
                  m->k == 2 ? "" : "s (one-vs-rest)", width, height, width, height);
    for (int i = 0; i <= 5; i++) {
        double v = i / 5.0;
        double x = L + S * v, y = T + S * (1 - v);
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>"
                           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>",
                      x, T, x, T + S, L, y, L + S, y);
        mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">"
                           "%.1f</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                           "dominant-baseline=\"middle\" font-size=\"10\">%.1f</text>",
                      x, T + S + 14, v, L - 6, y, v);
    }
    mp_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                       "stroke=\"#9aa5b1\"/>",
                  L, T, S, S);
    mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa5b1\" "
                       "stroke-dasharray=\"5 4\"/>",
                  L, T + S, L + S, T);
    mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                       "font-weight=\"600\">false positive rate</text>",
                  L + S / 2, T + S + 34);
    mp_buf_printf(out, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                       "font-size=\"12\" font-weight=\"600\">true positive rate</text>",
                  T + S / 2);

    for (size_t c = first; c < last; c++) {
        const mp_roc_curve *rc = &m->roc[c];
        const char *colr = palette[(c - first) % NPALETTE];
        if (!isnan(rc->auc)) {
            mp_buf_printf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                               "stroke-linejoin=\"round\" points=\"",
                          colr);
            for (size_t i = 0; i < rc->npoints; i++)
                mp_buf_printf(out, "%s%.1f,%.1f", i ? " " : "", L + S * rc->fpr[i],
                              T + S * (1 - rc->tpr[i]));
            mp_buf_puts(out, "\"><title>");
            mp_html_escape(out, label_of(r, c, tmp, sizeof tmp));
            mp_buf_printf(out, ": AUC %.4f</title></polyline>", rc->auc);
        }
        /* Legend: inside the plot for one curve, beside it for several. */
        double lx, ly;
        if (m->k == 2) {
            lx = L + S - 196;
            ly = T + S - 22;
            mp_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"188\" height=\"18\" "
                               "fill=\"#fff\" opacity=\"0.9\"/>",
                          lx - 4, ly - 9);
        } else {
            lx = legx;
            ly = T + 8 + 18.0 * (double)(c - first);
        }
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                           "stroke-width=\"3\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
                           "dominant-baseline=\"middle\">",
                      lx, ly, lx + 16, ly, colr, lx + 22, ly);
        if (m->k == 2) {
            mp_buf_puts(out, "AUC = ");
            put_num(out, rc->auc, "%.4f");
            mp_buf_puts(out, " (");
            short_label(out, label_of(r, c, tmp, sizeof tmp), 12);
            mp_buf_puts(out, ")");
        } else {
            short_label(out, label_of(r, c, tmp, sizeof tmp), CHART_LABEL_MAX);
            mp_buf_puts(out, " \xc2\xb7 ");
            if (isnan(rc->auc))
                mp_buf_puts(out, "undefined");
            else
                mp_buf_printf(out, "%.3f", rc->auc);
        }
        mp_buf_puts(out, "</text>");
    }
    mp_buf_puts(out, "</svg></figure>");
}

/* ---- regression --------------------------------------------------------- */

static void reg_cards(const mp_reg_metrics *g, mp_buf *out)
{
    mp_buf_puts(out, "<section class=\"cards\">");
    card(out, "R\xc2\xb2", g->r2, "%.4f", "1 is perfect");
    card(out, "MAE", g->mae, "%.4g", "mean absolute error");
    card(out, "RMSE", g->rmse, "%.4g", "root mean squared error");
    card(out, "Max error", g->max_error, "%.4g", NULL);
    card(out, "Explained var.", g->explained_variance, "%.4f", NULL);
    card(out, "Samples", (double)g->n, "%.0f", NULL);
    mp_buf_puts(out, "</section>\n");
}

static void scatter_svg(const mp_report *r, mp_buf *out)
{
    double lo = INFINITY, hi = -INFINITY;
    size_t finite = 0;
    for (size_t i = 0; i < r->n; i++) {
        double a = r->actual[i], p = r->pred[i];
        if (!isfinite(a) || !isfinite(p))
            continue;
        finite++;
        lo = fmin(lo, fmin(a, p));
        hi = fmax(hi, fmax(a, p));
    }
    if (!finite)
        return;
    if (hi - lo <= 0 || !isfinite(hi - lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double step = nice_step(hi - lo, 5);
    lo = floor(lo / step) * step;
    hi = ceil(hi / step) * step;
    const double L = 64, T = 14, S = 380;
    double width = L + S + 20, height = T + S + 48;
#define SX(v) (L + S * ((v) - lo) / (hi - lo))
#define SY(v) (T + S * (1 - ((v) - lo) / (hi - lo)))

    mp_buf_printf(out, "<section><h2>Predicted vs actual</h2><div class=\"figs\"><figure>"
                       "<svg class=\"scatter\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                       "height=\"%.0f\" role=\"img\" aria-label=\"predicted versus actual\">",
                  width, height, width, height);
    long nticks = lround((hi - lo) / step);
    for (long i = 0; i <= nticks; i++) {
        double tv = lo + step * (double)i;
        if (fabs(tv) < step * 1e-9)
            tv = 0; /* not "-1.2e-17" */
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>"
                           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>",
                      SX(tv), T, SX(tv), T + S, L, SY(tv), L + S, SY(tv));
        mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">"
                           "%.6g</text><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                           "dominant-baseline=\"middle\" font-size=\"10\">%.6g</text>",
                      SX(tv), T + S + 14, tv, L - 6, SY(tv), tv);
    }
    mp_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                       "stroke=\"#9aa5b1\"/>",
                  L, T, S, S);
    mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e15759\" "
                       "stroke-dasharray=\"5 4\"><title>y = x (perfect prediction)</title></line>",
                  L, T + S, L + S, T);
    /* An even sample keeps huge test sets to a page a browser opens fast. */
    size_t stride = (finite + MP_REPORT_MAX_POINTS - 1) / MP_REPORT_MAX_POINTS;
    size_t shown = 0, seen = 0;
    mp_buf_puts(out, "<g fill=\"#4e79a7\" fill-opacity=\"0.55\">");
    for (size_t i = 0; i < r->n; i++) {
        double a = r->actual[i], p = r->pred[i];
        if (!isfinite(a) || !isfinite(p))
            continue;
        if (seen++ % stride)
            continue;
        shown++;
        mp_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.8\"/>", SX(a), SY(p));
    }
    mp_buf_puts(out, "</g>");
    mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                       "font-weight=\"600\">actual</text>",
                  L + S / 2, T + S + 36);
    mp_buf_printf(out, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                       "font-size=\"12\" font-weight=\"600\">predicted</text>",
                  T + S / 2);
#undef SX
#undef SY
    mp_buf_puts(out, "</svg>");
    mp_buf_printf(out, "<p style=\"font-size:12px;color:#616e7c;margin:6px 0 0\">%zu points",
                  shown);
    if (shown < finite)
        mp_buf_printf(out, " (an even sample of %zu)", finite);
    if (finite < r->n)
        mp_buf_printf(out, "; %zu with a missing value left out", r->n - finite);
    mp_buf_puts(out, ". Points on the dashed line are predicted exactly.</p></figure></div>"
                     "</section>\n");
}

/* ---- training history --------------------------------------------------- */

enum { F_LOSS, F_ACC, F_VAL_LOSS, F_VAL_ACC };

static double field(const mp_report_epoch *ep, int f)
{
    switch (f) {
    case F_LOSS: return ep->loss;
    case F_ACC: return ep->accuracy;
    case F_VAL_LOSS: return ep->val_loss;
    default: return ep->val_accuracy;
    }
}

/* Values beyond this magnitude are left out like NaN, so every span and
 * tick step below stays finite. */
static int plottable(double v) { return isfinite(v) && fabs(v) <= 1e300; }

static int any_plottable(const mp_report *r, int f)
{
    for (size_t i = 0; i < r->nhistory; i++)
        if (plottable(field(&r->history[i], f)))
            return 1;
    return 0;
}

/* The x axis: the epochs as recorded, or their positions when one of them
 * cannot be drawn. */
typedef struct curve_axes {
    int by_index;
    double xlo, xhi, xstep;
    double ylo, yhi, ystep;
} curve_axes;

static double epoch_x(const mp_report *r, const curve_axes *ax, size_t i)
{
    return ax->by_index ? (double)(i + 1) : r->history[i].epoch;
}

static void x_axis(const mp_report *r, curve_axes *ax)
{
    ax->by_index = 0;
    for (size_t i = 0; i < r->nhistory && !ax->by_index; i++)
        ax->by_index = !plottable(r->history[i].epoch);
    for (;;) {
        ax->xlo = INFINITY;
        ax->xhi = -INFINITY;
        for (size_t i = 0; i < r->nhistory; i++) {
            ax->xlo = fmin(ax->xlo, epoch_x(r, ax, i));
            ax->xhi = fmax(ax->xhi, epoch_x(r, ax, i));
        }
        /* One epoch (or all at one value) sits in the middle of a unit span. */
        if (!(ax->xhi - ax->xlo > 0)) {
            ax->xlo -= 0.5;
            ax->xhi += 0.5;
        }
        /* Epochs too large for a unit span to show (1e20 + 0.5 is 1e20)
         * are drawn by position instead. */
        if (ax->xhi - ax->xlo > 0 || ax->by_index)
            break;
        ax->by_index = 1;
    }
    /* Epochs are whole numbers: no tick between two of them. */
    ax->xstep = nice_step(ax->xhi - ax->xlo, 6);
    if (!(ax->xstep >= 1))
        ax->xstep = 1;
}

/* Round y limits around the plottable values of fields f1 and f2 (-1: none);
 * 0 when there is none. A flat curve gets a span around its value; data
 * that is never negative (losses, accuracies) gets no negative ticks, and
 * accuracies none above 100%. */
static int y_axis(const mp_report *r, int f1, int f2, int percent, curve_axes *ax)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < r->nhistory; i++) {
        int fs[2] = {f1, f2};
        for (int k = 0; k < 2; k++) {
            double v = fs[k] < 0 ? NAN : field(&r->history[i], fs[k]);
            if (plottable(v)) {
                lo = fmin(lo, v);
                hi = fmax(hi, v);
            }
        }
    }
    if (lo > hi)
        return 0;
    double dmin = lo, dmax = hi;
    if (hi - lo <= 1e-9 * fmax(fabs(lo), fabs(hi)) || hi - lo < 1e-200) {
        double pad = percent ? 0.1 : fabs(lo) > 1e-200 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double step = nice_step(hi - lo, 5);
    lo = floor(lo / step + 1e-9) * step;
    hi = ceil(hi / step - 1e-9) * step;
    if (dmin >= 0 && lo < 0)
        lo = 0;
    if (percent && dmax <= 1 && hi > 1)
        hi = 1;
    ax->ylo = lo;
    ax->yhi = hi;
    ax->ystep = step;
    return 1;
}

/* Plot area of a curve chart. */
#define CL 60.0
#define CT 34.0
#define CW 400.0
#define CH 220.0
#define CPAD 8.0 /* first and last epoch stay off the frame */

static double cx_of(const curve_axes *ax, double x)
{
    return CL + CPAD + (CW - 2 * CPAD) * (x - ax->xlo) / (ax->xhi - ax->xlo);
}

static double cy_of(const curve_axes *ax, double y)
{
    return CT + CH * (1 - (y - ax->ylo) / (ax->yhi - ax->ylo));
}

static void put_value(mp_buf *out, double v, int percent)
{
    if (percent)
        mp_buf_printf(out, "%.2f%%", v * 100);
    else
        mp_buf_printf(out, "%.4g", v);
}

/* Epochs drawn: every stride-th and the last, so a very long history stays
 * a page a browser opens fast. */
static int drawn(size_t i, size_t n, size_t stride) { return i % stride == 0 || i + 1 == n; }

/* One series: a polyline per run of consecutive drawn epochs with a value
 * (NaN breaks the line), and a marker with a tooltip per epoch when there
 * are few, else only for a value standing alone between gaps (a one-point
 * line would not show). */
static void curve_series(const mp_report *r, const curve_axes *ax, mp_buf *out, int f,
                         const char *colour, const char *name, const char *what, int percent)
{
    size_t n = r->nhistory;
    size_t stride = (n + MP_REPORT_MAX_POINTS - 1) / MP_REPORT_MAX_POINTS;
    int markers = n <= MP_REPORT_CURVE_MARKERS;
    for (size_t i = 0; i < n;) {
        if (!drawn(i, n, stride) || !plottable(field(&r->history[i], f))) {
            i++;
            continue;
        }
        size_t j, len = 0, last = i;
        for (j = i; j < n; j++) {
            if (!drawn(j, n, stride))
                continue;
            if (!plottable(field(&r->history[j], f)))
                break;
            len++;
            last = j;
        }
        if (len >= 2) {
            mp_buf_printf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                               "stroke-linejoin=\"round\" points=\"",
                          colour);
            for (size_t k = i, first = 1; k <= last; k++) {
                if (!drawn(k, n, stride))
                    continue;
                mp_buf_printf(out, "%s%.1f,%.1f", first ? "" : " ", cx_of(ax, epoch_x(r, ax, k)),
                              cy_of(ax, field(&r->history[k], f)));
                first = 0;
            }
            mp_buf_printf(out, "\"><title>%s %s</title></polyline>", name, what);
        }
        if (len == 1 && !markers)
            mp_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
                          cx_of(ax, epoch_x(r, ax, i)), cy_of(ax, field(&r->history[i], f)),
                          colour);
        i = j;
    }
    if (!markers)
        return;
    mp_buf_printf(out, "<g fill=\"%s\">", colour);
    for (size_t i = 0; i < n; i++) {
        double v = field(&r->history[i], f);
        if (!plottable(v))
            continue;
        double x = epoch_x(r, ax, i);
        mp_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"><title>epoch %.6g: %s %s ",
                      cx_of(ax, x), cy_of(ax, v), x, name, what);
        put_value(out, v, percent);
        mp_buf_puts(out, "</title></circle>");
    }
    mp_buf_puts(out, "</g>");
}

/* Loss (percent 0) or accuracy (percent 1) per epoch: training in blue,
 * validation in orange when measured, the kept epoch as a dashed line. */
static void curve_svg(const mp_report *r, mp_buf *out, const char *caption, const char *what,
                      int ftrain, int fval, int percent)
{
    curve_axes ax;
    int has_train = any_plottable(r, ftrain), has_val = any_plottable(r, fval);
    x_axis(r, &ax);
    if (!y_axis(r, has_train ? ftrain : -1, has_val ? fval : -1, percent, &ax))
        return;
    double width = CL + CW + 16, height = CT + CH + 44;

    mp_buf_printf(out, "<figure><figcaption>%s per epoch</figcaption>"
                       "<svg class=\"curve\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
                       "height=\"%.0f\" role=\"img\" aria-label=\"%s per epoch\">",
                  caption, width, height, width, height, what);
    long nyt = lround((ax.yhi - ax.ylo) / ax.ystep);
    for (long i = 0; i <= nyt; i++) {
        double tv = ax.ylo + ax.ystep * (double)i;
        if (fabs(tv) < ax.ystep * 1e-9)
            tv = 0; /* not "-1.2e-17" */
        double y = cy_of(&ax, tv);
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                           "dominant-baseline=\"middle\" font-size=\"10\">",
                      CL, y, CL + CW, y, CL - 6, y);
        if (percent)
            mp_buf_printf(out, "%.6g%%", tv * 100);
        else
            mp_buf_printf(out, "%.6g", tv);
        mp_buf_puts(out, "</text>");
    }
    /* Counted, not accumulated: at 1e17 adding a step of 1 changes nothing. */
    double x0 = ceil(ax.xlo / ax.xstep - 1e-9);
    for (int k = 0; k < 40; k++) {
        double tv = (x0 + k) * ax.xstep;
        if (tv > ax.xhi + 1e-9 * ax.xstep)
            break;
        double x = cx_of(&ax, tv);
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e7eb\"/>"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">"
                           "%.6g</text>",
                      x, CT, x, CT + CH, x, CT + CH + 14, tv);
    }
    mp_buf_printf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                       "stroke=\"#9aa5b1\"/>",
                  CL, CT, CW, CH);
    mp_buf_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"12\" "
                       "font-weight=\"600\">epoch</text>",
                  CL + CW / 2, CT + CH + 34);
    mp_buf_printf(out, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                       "font-size=\"12\" font-weight=\"600\">%s</text>",
                  CT + CH / 2, what);

    /* The kept epoch, when it is one of those drawn. */
    int best = 0;
    double bx = 0;
    for (size_t i = 0; r->best_epoch && i < r->nhistory && !best; i++)
        if (epoch_x(r, &ax, i) == (double)r->best_epoch) {
            best = 1;
            bx = cx_of(&ax, (double)r->best_epoch);
        }
    if (best)
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#616e7c\" "
                           "stroke-dasharray=\"4 3\"><title>best epoch %zu</title></line>",
                      bx, CT, bx, CT + CH, r->best_epoch);
    if (has_train)
        curve_series(r, &ax, out, ftrain, palette[0], "training", what, percent);
    if (has_val)
        curve_series(r, &ax, out, fval, palette[1], "validation", what, percent);

    /* Legend above the plot, so it never hides a curve. */
    double lx = CL;
    const char *names[2] = {"training", "validation"};
    int shown[2] = {has_train, has_val};
    for (int k = 0; k < 2; k++) {
        if (!shown[k])
            continue;
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"14\" stroke=\"%s\" "
                           "stroke-width=\"3\"/><text x=\"%.1f\" y=\"14\" font-size=\"11\" "
                           "dominant-baseline=\"middle\">%s</text>",
                      lx, lx + 16, palette[k], lx + 22, names[k]);
        lx += 100;
    }
    if (best)
        mp_buf_printf(out, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"14\" stroke=\"#616e7c\" "
                           "stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"14\" font-size=\"11\" "
                           "dominant-baseline=\"middle\">best epoch (%zu)</text>",
                      lx, lx + 16, lx + 22, r->best_epoch);
    mp_buf_puts(out, "</svg></figure>");
}

/* The last plottable value of field f, or NaN. */
static double last_value(const mp_report *r, int f)
{
    for (size_t i = r->nhistory; i-- > 0;)
        if (plottable(field(&r->history[i], f)))
            return field(&r->history[i], f);
    return NAN;
}

static void final_pair(mp_buf *out, const mp_report *r, const char *what, int ftrain, int fval,
                       int percent)
{
    double t = last_value(r, ftrain), v = last_value(r, fval);
    if (isnan(t) && isnan(v))
        return;
    mp_buf_printf(out, " \xc2\xb7 final %s ", what);
    if (!isnan(t))
        put_value(out, t, percent);
    if (!isnan(v)) {
        mp_buf_puts(out, isnan(t) ? "(validation) " : " (validation ");
        put_value(out, v, percent);
        if (!isnan(t))
            mp_buf_putc(out, ')');
    }
}

static void training_section(const mp_report *r, mp_buf *out)
{
    mp_buf_printf(out, "<section><h2>Training</h2><p style=\"font-size:13px;color:#616e7c;"
                       "margin:0 0 12px\">%zu epoch%s",
                  r->nhistory, r->nhistory == 1 ? "" : "s");
    if (r->best_epoch)
        mp_buf_printf(out, " \xc2\xb7 best epoch %zu", r->best_epoch);
    if (r->stopped_early)
        mp_buf_puts(out, " \xc2\xb7 stopped early");
    final_pair(out, r, "loss", F_LOSS, F_VAL_LOSS, 0);
    final_pair(out, r, "accuracy", F_ACC, F_VAL_ACC, 1);
    mp_buf_puts(out, "</p>");
    int loss = any_plottable(r, F_LOSS) || any_plottable(r, F_VAL_LOSS);
    int acc = any_plottable(r, F_ACC) || any_plottable(r, F_VAL_ACC);
    if (loss || acc) {
        mp_buf_puts(out, "<div class=\"figs\">");
        if (loss)
            curve_svg(r, out, "Loss", "loss", F_LOSS, F_VAL_LOSS, 0);
        if (acc)
            curve_svg(r, out, "Accuracy", "accuracy", F_ACC, F_VAL_ACC, 1);
        mp_buf_puts(out, "</div>");
    } else {
        mp_buf_puts(out, "<p>The history holds no loss or accuracy values to draw.</p>");
    }
    mp_buf_puts(out, "</section>\n");
}

/* ---- page --------------------------------------------------------------- */

static void notes(mp_buf *out, unsigned w)
{
    if (!w)
        return;
    mp_buf_puts(out, "<section class=\"notes\"><h2>Notes</h2><ul>");
    for (unsigned bit = 1; bit && bit <= w; bit <<= 1) {
        const char *t = (w & bit) ? mp_metric_warning_text(bit) : NULL;
        if (t) {
            mp_buf_puts(out, "<li>");
            mp_html_escape(out, t);
            mp_buf_puts(out, "</li>");
        }
    }
    mp_buf_puts(out, "</ul></section>\n");
}

int mp_report_html(const mp_report *r, mp_buf *out, mp_error *e)
{
    if (!r || !out)
        return mp_error_set(e, MP_EINVAL, "html report: no report or output buffer");
    int scatter = r->actual || r->pred;
    if (scatter && (!r->actual || !r->pred || r->n == 0))
        return mp_error_set(e, MP_EINVAL,
                            "html report: the scatter needs both actual and predicted values");
    if (!r->cls && !r->reg && !scatter)
        return mp_error_set(e, MP_EINVAL, "html report: no results to report");
    if (r->cls && (r->cls->k == 0 || !r->cls->confusion))
        return mp_error_set(e, MP_EINVAL, "html report: empty classification results");
    if (r->ninfo && (!r->info_keys || !r->info_values))
        return mp_error_set(e, MP_EINVAL, "html report: %zu info lines without keys or values",
                            r->ninfo);
    if (r->nhistory && !r->history)
        return mp_error_set(e, MP_EINVAL, "html report: %zu epochs of history without the epochs",
                            r->nhistory);
    const char *title = r->title ? r->title : "mlpipe evaluation";

    mp_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<title>");
    mp_html_escape(out, title);
    mp_buf_puts(out, "</title>\n<style>");
    mp_buf_puts(out, css);
    mp_buf_puts(out, "</style>\n</head>\n<body>\n<main>\n<header><h1>");
    mp_html_escape(out, title);
    mp_buf_puts(out, "</h1><p class=\"sub\">");
    if (r->cls)
        mp_buf_printf(out, "Classification \xc2\xb7 %zu samples \xc2\xb7 %zu classes",
                      r->cls->n, r->cls->k);
    else if (r->reg)
        mp_buf_printf(out, "Regression \xc2\xb7 %zu samples", r->reg->n);
    else
        mp_buf_printf(out, "Regression \xc2\xb7 %zu samples", r->n);
    mp_buf_puts(out, "</p>");
    if (r->ninfo) {
        mp_buf_puts(out, "<dl class=\"info\">");
        for (size_t i = 0; i < r->ninfo; i++) {
            mp_buf_puts(out, "<dt>");
            mp_html_escape(out, r->info_keys[i] ? r->info_keys[i] : "");
            mp_buf_puts(out, "</dt><dd>");
            mp_html_escape(out, r->info_values[i] ? r->info_values[i] : "");
            mp_buf_puts(out, "</dd>");
        }
        mp_buf_puts(out, "</dl>");
    }
    mp_buf_puts(out, "</header>\n");

    if (r->cls) {
        const mp_class_metrics *m = r->cls;
        class_cards(r, out);
        class_table(r, out);
        mp_buf_puts(out, "<section><h2>Where the errors are</h2><div class=\"figs\">");
        confusion_svg(r, out);
        if (m->has_proba && m->roc && m->k >= 2)
            roc_svg(r, out);
        mp_buf_puts(out, "</div></section>\n");
        notes(out, m->warnings);
    }
    if (r->reg) {
        reg_cards(r->reg, out);
    }
    if (scatter)
        scatter_svg(r, out);
    if (r->reg)
        notes(out, r->reg->warnings);
    if (r->nhistory)
        training_section(r, out);
    mp_buf_puts(out, "<footer>Generated by mlpipe</footer>\n</main>\n</body>\n</html>\n");
    if (out->oom)
        return mp_error_set(e, MP_ENOMEM, "html report: out of memory");
    return 0;
}
