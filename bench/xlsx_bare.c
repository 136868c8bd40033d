/* xlsx_bare.c - the yardstick of bench/xlsx.sh: a bare libxlsxwriter loop
 *
 *     xlsx_bare OUT.xlsx ROWS TYPES [--in-memory]
 *
 * writes one sheet of a header row and ROWS rows, one cell per letter of
 * TYPES: s a string (16 characters), n a number, d a date-time, b a
 * boolean, - an empty cell; in constant_memory mode unless --in-memory.
 * It does nothing but write cells, so the time `report client` takes
 * beyond it is what callscope adds (queries, KPIs, the other sheets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xlsxwriter.h>

int main(int argc, char **argv)
{
    lxw_workbook_options o = {0};
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *date, *num;
    const char *types;
    long rows;
    size_t cols;
    char text[32];

    if (argc < 4) {
        fprintf(stderr, "usage: xlsx_bare OUT.xlsx ROWS TYPES "
                        "[--in-memory]\n");
        return 2;
    }
    rows = strtol(argv[2], NULL, 10);
    types = argv[3];
    cols = strlen(types);
    o.constant_memory = !(argc > 4 && strcmp(argv[4], "--in-memory") == 0);
    wb = workbook_new_opt(argv[1], &o);
    ws = workbook_add_worksheet(wb, "Data");
    date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd hh:mm:ss");
    num = workbook_add_format(wb);
    format_set_num_format(num, "#,##0.0");
    for (size_t c = 0; c < cols; c++) {
        snprintf(text, sizeof(text), "column %zu", c);
        worksheet_write_string(ws, 0, (lxw_col_t)c, text, NULL);
    }
    for (long r = 1; r <= rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            switch (types[c]) {
            case 's':
                snprintf(text, sizeof(text), "text-%06ld-%04zu", r % 1000000,
                         c);
                worksheet_write_string(ws, (lxw_row_t)r, (lxw_col_t)c, text,
                                       NULL);
                break;
            case 'n':
                worksheet_write_number(ws, (lxw_row_t)r, (lxw_col_t)c,
                                       (double)r * 0.37 + (double)c, num);
                break;
            case 'd':
                worksheet_write_number(ws, (lxw_row_t)r, (lxw_col_t)c,
                                       46296.0 + (double)r / 86400.0, date);
                break;
            case 'b':
                worksheet_write_boolean(ws, (lxw_row_t)r, (lxw_col_t)c,
                                        (int)((r + (long)c) & 1), NULL);
                break;
            default:
                break;
            }
        }
    }
    worksheet_freeze_panes(ws, 1, 1);
    worksheet_autofilter(ws, 0, 0, (lxw_row_t)rows, (lxw_col_t)(cols - 1));
    return workbook_close(wb) == LXW_NO_ERROR ? 0 : 1;
}
