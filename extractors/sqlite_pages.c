/* pulse-sqlite-pages: one SQLite table's rows with AFTER < change_seq <= UNTIL, read from the file's pages
 * (https://www.sqlite.org/fileformat2.html) and written to stdout as ClickHouse Native blocks of raw columns.
 *
 * Why: SQLite's library hands values over one call at a time; for a table of 10M rows and 17 columns that
 * costs 6-9 CPU seconds, more than the warehouse takes to insert them. Walking the table's B-tree and
 * decoding records in one pass takes a fraction of it.
 *
 * Consistency is the caller's: it holds a read transaction on the store for as long as this runs. In WAL
 * mode that keeps checkpoints from writing any page past the caller's snapshot into the database file (a
 * reader on read mark 0 blocks every backfill; a reader on mark N, every frame past N), so a page is read
 * from the latest committed WAL frame that holds it, else from the file. The WAL is parsed here, so the
 * snapshot read may be newer than the caller's: rows changed since have a change_seq above UNTIL and are
 * left to the next run. A frame overwritten while being read, or cut off (the WAL restarted or truncated:
 * possible only once all of it is in the database file, and a reader on mark 0 then blocks any further
 * backfill), is detected by its salts or a short read and read from the file instead. The caller checks the
 * row count and change_seq sum against its own snapshot, and this reader refuses a schema changed since.
 *
 * The file is read as data, never trusted: cell and page numbers are checked against the page and the
 * database, each B-tree page may be reached once, and a damaged file stops the run (exit 1).
 *
 * Anything this reader does not convert exactly as the warehouse's CAST would (a value of another storage
 * class than its column expects, text that is not a plain timestamp or decimal, ...) ends the run with exit
 * status 3 and the reason on stderr: the caller then copies the table another way. Other failures exit 1.
 * On success the last line on stderr is "rows=N seqsum=S".
 *
 * Usage: pulse-sqlite-pages DB ROOT_PAGE AFTER UNTIL LOADED_AT SEQ_INDEX DELETED_INDEX BLOCK_ROWS SCHEMA_COOKIE
 *                           CHANGE_SEQ_NAME TYPE IS_DELETED_NAME TYPE LOADED_AT_NAME TYPE
 *                           [KIND FLAGS SCALE INDEX NAME TYPE]...
 * INDEX is the column's position in the record, -1 for the rowid (an INTEGER PRIMARY KEY); KIND is one of
 * i16 i32 i64 f64 bool date ts str dec4 dec8; FLAGS: 1 nullable, 2 has a default. SEQ_INDEX and DELETED_INDEX
 * (-1: none) locate change_seq and deleted_at. SCHEMA_COOKIE: the caller's `PRAGMA schema_version`, which the
 * root page and the record positions come from (another one: exit 3). The three load columns are named and typed
 * by the caller (extractors/raw_types.py, LOAD_COLUMNS): each row's change_seq (8 bytes), whether deleted_at is
 * set (1 byte), and LOADED_AT (8 bytes, in the caller's ticks of its type).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind { K_I16, K_I32, K_I64, K_F64, K_BOOL, K_DATE, K_TS, K_STR, K_DEC4, K_DEC8 };

typedef struct {
    unsigned char *data;
    size_t len, cap;
} buf_t;

typedef struct {
    enum kind kind;
    int nullable, has_default, scale, index;
    int64_t limit; /* decimals: 10^precision, which no scaled value reaches */
    const char *name, *type;
    buf_t values, nulls;
} column_t;

#define MISSING (-2)
typedef struct {
    int64_t serial; /* SQLite serial type; -1: the rowid; MISSING: not in the record (a column added since) */
    const unsigned char *body;
    int64_t rowid;
} value_t;

static const char *db_path;
static int db_fd = -1, wal_fd = -1;
static const unsigned char *db_map;
static size_t db_size;
static uint32_t page_size, usable;
static uint32_t *wal_frame_of; /* page number -> WAL frame (1-based), 0: not in the WAL */
static uint32_t wal_pages;     /* length of wal_frame_of */
static uint32_t wal_salt[2];
static uint32_t db_pages; /* the database's length in pages: the file's, or the last WAL commit's */
static unsigned char *scratch; /* an overflow page read from the WAL */

static void die(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}
#define UNSUPPORTED(...) die(3, __VA_ARGS__)
#define FAIL(...) die(1, __VA_ARGS__)

static uint32_t be16(const unsigned char *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void reserve(buf_t *b, size_t more) {
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 1 << 16;
    while (cap < b->len + more) cap *= 2;
    if (!(b->data = realloc(b->data, cap))) FAIL("out of memory");
    b->cap = cap;
}
static void put(buf_t *b, const void *p, size_t n) {
    reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}
static void put_uvarint(buf_t *b, uint64_t v) { /* ClickHouse's VarUInt (LEB128) */
    reserve(b, 10);
    do {
        unsigned char byte = v & 0x7f;
        v >>= 7;
        b->data[b->len++] = byte | (v ? 0x80 : 0);
    } while (v);
}
static void put_string(buf_t *b, const void *p, size_t n) {
    put_uvarint(b, n);
    put(b, p, n);
}

/* SQLite's varint: big-endian, 7 bits a byte, the ninth byte whole. */
static const unsigned char *get_varint(const unsigned char *p, const unsigned char *end, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        if (p >= end) FAIL("%s: truncated varint", db_path);
        v = (v << 7) | (*p & 0x7f);
        if (!(*p++ & 0x80)) {
            *out = v;
            return p;
        }
    }
    if (p >= end) FAIL("%s: truncated varint", db_path);
    *out = (v << 8) | *p++;
    return p;
}

static void wal_checksum(int big_endian, const unsigned char *p, size_t n, uint32_t s[2]) {
    for (size_t i = 0; i < n; i += 8) {
        uint32_t a, b;
        memcpy(&a, p + i, 4);
        memcpy(&b, p + i + 4, 4);
        if (big_endian) {
            a = __builtin_bswap32(a);
            b = __builtin_bswap32(b);
        }
        s[0] += a + s[1];
        s[1] += b + s[0];
    }
}

/* Whether all n bytes at `at` were read: a WAL can be cut short under the reader (see page()). */
static int read_fully(int fd, void *into, size_t n, off_t at) {
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(fd, (char *)into + done, n - done, at + (off_t)done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) FAIL("%s: cannot read its WAL: %s", db_path, strerror(errno));
        if (got == 0) return 0;
        done += (size_t)got;
    }
    return 1;
}

/* The committed frames of the WAL: for each page, the last frame holding it up to the last commit. */
static void open_wal(void) {
    char path[4096];
    snprintf(path, sizeof path, "%s-wal", db_path);
    wal_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (wal_fd < 0) return; /* no WAL: every page is in the file */
    struct stat st;
    if (fstat(wal_fd, &st) < 0 || st.st_size < 32) return;
    unsigned char header[32];
    if (!read_fully(wal_fd, header, 32, 0)) return;
    uint32_t magic = be32(header);
    if ((magic & 0xfffffffe) != 0x377f0682) return;
    int big_endian = magic & 1;
    if (be32(header + 8) != page_size) FAIL("%s: the WAL's page size is not the database's", db_path);
    uint32_t sum[2] = {0, 0};
    wal_checksum(big_endian, header, 24, sum);
    if (sum[0] != be32(header + 24) || sum[1] != be32(header + 28)) return; /* never written: empty */
    wal_salt[0] = be32(header + 16);
    wal_salt[1] = be32(header + 20);
    size_t frame = 24 + (size_t)page_size;
    uint64_t frames = (uint64_t)(st.st_size - 32) / frame;
    /* No committed transaction makes the database longer than it is plus a page per frame. */
    uint64_t most_pages = db_size / page_size + frames;
    unsigned char *buf = malloc(frame);
    uint32_t *pending = NULL; /* pages of the transaction being read, until its commit frame */
    size_t npending = 0, cap = 0;
    if (!buf) FAIL("out of memory");
    for (uint64_t i = 0; i < frames; i++) {
        if (!read_fully(wal_fd, buf, frame, 32 + (off_t)(i * frame))) break; /* cut short: the end */
        if (be32(buf + 8) != wal_salt[0] || be32(buf + 12) != wal_salt[1]) break;
        wal_checksum(big_endian, buf, 8, sum);
        wal_checksum(big_endian, buf + 24, page_size, sum);
        if (sum[0] != be32(buf + 16) || sum[1] != be32(buf + 20)) break;
        uint32_t pgno = be32(buf);
        if (npending == cap && !(pending = realloc(pending, (cap = cap ? cap * 2 : 1024) * sizeof *pending)))
            FAIL("out of memory");
        pending[npending++] = pgno;
        uint32_t commit_pages = be32(buf + 4); /* the database's length in pages after a commit, else 0 */
        if (commit_pages == 0) continue;
        if (commit_pages > most_pages) FAIL("%s: a WAL commit of %u pages, more than can be", db_path, commit_pages);
        db_pages = commit_pages;
        for (size_t k = 0; k < npending; k++) {
            uint32_t p = pending[k];
            if (p == 0) FAIL("%s: a WAL frame of page 0", db_path);
            if (p > commit_pages) continue; /* past the end of the database once committed */
            if (p >= wal_pages) {
                size_t n = (size_t)p + 1 > (size_t)wal_pages * 2 ? (size_t)p + 1 : (size_t)wal_pages * 2;
                if (!(wal_frame_of = realloc(wal_frame_of, n * sizeof *wal_frame_of))) FAIL("out of memory");
                memset(wal_frame_of + wal_pages, 0, (n - wal_pages) * sizeof *wal_frame_of);
                wal_pages = (uint32_t)n;
            }
            wal_frame_of[p] = (uint32_t)(i + 1 - (npending - 1 - k)); /* frame numbers are 1-based */
        }
        npending = 0;
    }
    free(pending);
    free(buf);
}

/* Page `pgno` as of the snapshot: read into `into` from the WAL, or where the file is mapped. */
static const unsigned char *page(uint32_t pgno, unsigned char *into) {
    if (pgno == 0) FAIL("%s: page 0 referenced", db_path);
    if (pgno > db_pages) FAIL("%s: page %u is past the end of the database", db_path, pgno);
    if (pgno < wal_pages && wal_frame_of[pgno]) {
        off_t at = 32 + (off_t)(wal_frame_of[pgno] - 1) * (24 + (off_t)page_size);
        /* The salts are read after the page: a restarting writer writes a frame's header before its page. */
        unsigned char salts[8];
        if (read_fully(wal_fd, into, page_size, at + 24) && read_fully(wal_fd, salts, 8, at + 8) &&
            be32(salts) == wal_salt[0] && be32(salts + 4) == wal_salt[1])
            return into;
        /* Overwritten by a restarted WAL, or cut by a checkpoint that truncates it: either happens only once every
         * frame is in the file, and a reader on read mark 0 (the only kind they leave reading) blocks any
         * further write to the file. */
    }
    if ((uint64_t)pgno * page_size > db_size) FAIL("%s: page %u is past the end of the file", db_path, pgno);
    return db_map + (size_t)(pgno - 1) * page_size;
}

/* ---- the rows ------------------------------------------------------------------------------------------ */

static column_t *columns;
static int ncolumns, seq_index, deleted_index;
static int64_t after, until, loaded_at;
static const char *load_columns[3][2]; /* name, type: _change_seq, _is_deleted, _loaded_at */
static uint64_t block_rows, in_block, total_rows, seq_sum;
static int max_index;
static value_t *record_values; /* max_index + 1 of them */
static buf_t change_seqs, deleted, out;
static unsigned char *overflow_payload;
static size_t overflow_cap;

static uint64_t serial_size(uint64_t serial) {
    static const uint64_t sizes[] = {0, 1, 2, 3, 4, 6, 8, 8, 0, 0};
    if (serial < 10) return sizes[serial];
    if (serial < 12) FAIL("%s: reserved serial type %" PRIu64, db_path, serial);
    return (serial - 12) / 2;
}

static int64_t int_of(const value_t *v) {
    if (v->serial == -1) return v->rowid;
    if (v->serial == 8) return 0;
    if (v->serial == 9) return 1;
    int n = (int)serial_size((uint64_t)v->serial);
    int64_t x = (v->body[0] & 0x80) ? -1 : 0; /* sign-extended big-endian two's complement */
    for (int i = 0; i < n; i++) x = (int64_t)((uint64_t)x << 8 | v->body[i]);
    return x;
}
static int is_int(const value_t *v) { return v->serial == -1 || (v->serial >= 1 && v->serial <= 6) || v->serial == 8 || v->serial == 9; }
static int is_text(const value_t *v) { return v->serial >= 13 && v->serial % 2 == 1; }
static double real_of(const value_t *v) {
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | v->body[i];
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d) { /* proleptic Gregorian, 1970-01-01 = 0 */
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}
static int digits(const unsigned char *p, int n, int64_t *out_value) {
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out_value = v;
    return 1;
}
/* 'YYYY-MM-DD' -> days; only dates the warehouse's Date32 and DateTime64 hold the same way (1900-2299). */
static int parse_date(const unsigned char *p, int64_t *days) {
    int64_t y, m, d;
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &m) || p[7] != '-' || !digits(p + 8, 2, &d)) return 0;
    if (y < 1900 || y > 2299 || m < 1 || m > 12 || d < 1 || d > month_days[m - 1]) return 0;
    if (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return 0;
    *days = days_from_civil(y, m, d);
    return 1;
}
/* 'YYYY-MM-DD HH:MM:SS[.f{1,6}]' (naive UTC, as the store writes it) -> microseconds since the epoch. */
static int parse_timestamp(const unsigned char *p, size_t n, int64_t *micros) {
    int64_t days, h, mi, s, frac = 0;
    if (n < 19 || !parse_date(p, &days) || p[10] != ' ' || !digits(p + 11, 2, &h) || p[13] != ':' ||
        !digits(p + 14, 2, &mi) || p[16] != ':' || !digits(p + 17, 2, &s) || h > 23 || mi > 59 || s > 59)
        return 0;
    if (n > 19) {
        int width = (int)n - 20;
        if (p[19] != '.' || width < 1 || width > 6 || !digits(p + 20, width, &frac)) return 0;
        for (int i = width; i < 6; i++) frac *= 10;
    }
    *micros = ((days * 24 + h) * 60 + mi) * 60 * 1000000 + s * 1000000 + frac;
    return 1;
}

static const int64_t pow10s[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000,
                                 10000000000, 100000000000, 1000000000000, 10000000000000, 100000000000000,
                                 1000000000000000, 10000000000000000, 100000000000000000, 1000000000000000000};

/* Decimal text '-?D+(.D+)?' with at most `scale` decimals -> the scaled integer. */
static int parse_decimal(const char *p, size_t n, int scale, int64_t *scaled) {
    int negative = n && p[0] == '-';
    size_t i = (size_t)negative, whole_start = i;
    __int128 v = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9') v = v * 10 + (p[i++] - '0');
    if (i == whole_start || i - whole_start > 18) return 0;
    int decimals = 0;
    if (i < n) {
        if (p[i++] != '.') return 0;
        while (i < n && p[i] >= '0' && p[i] <= '9' && decimals < scale) {
            v = v * 10 + (p[i++] - '0');
            decimals++;
        }
        if (i != n || decimals == 0) return 0; /* more decimals than the scale holds: the CAST decides */
    }
    v *= pow10s[scale - decimals];
    if (v >= (__int128)pow10s[18]) return 0; /* wider than any Decimal64: the CAST refuses it */
    *scaled = (int64_t)(negative ? -v : v);
    return 1;
}
/* A REAL the way the warehouse route converts it: its text with 15 significant digits, exact at the scale. */
static int real_to_decimal(double d, int scale, int64_t *scaled) {
    if (!isfinite(d)) return 0;
    char text[64], more[80];
    /* A double halfway between two 15-digit decimals: glibc rounds it to even, SQLite's text may not. */
    snprintf(more, sizeof more, "%.40e", d);
    const char *after15 = more + (more[0] == '-') + 16; /* "d.dddddddddddddd" is 16 characters */
    if (*after15 == '5' && strspn(after15 + 1, "0") == (size_t)(strchr(after15, 'e') - after15 - 1)) return 0;
    snprintf(text, sizeof text, "%.14e", d);
    char *e = strchr(text, 'e');
    int exponent = atoi(e + 1);
    char mantissa[20];
    size_t n = 0;
    int negative = text[0] == '-';
    for (char *q = text + negative; q < e; q++)
        if (*q != '.') mantissa[n++] = *q;
    /* value = mantissa (15 digits) * 10^(exponent - 14); scaled = value * 10^scale */
    int shift = exponent - 14 + scale;
    __int128 v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (mantissa[i] - '0');
    if (shift >= 0) {
        if (shift > 18) return v == 0 ? (*scaled = 0, 1) : 0;
        v *= pow10s[shift];
    } else {
        if (-shift > 18) return v == 0 ? (*scaled = 0, 1) : 0;
        if (v % pow10s[-shift]) return 0; /* digits below the scale: the CAST decides */
        v /= pow10s[-shift];
    }
    if (v > (__int128)INT64_MAX) return 0;
    *scaled = (int64_t)(negative ? -v : v);
    return 1;
}

static void add_value(column_t *c, const value_t *v, int64_t rowid) {
    if (v->serial == MISSING && c->has_default)
        UNSUPPORTED("%s: column %s (rowid %" PRId64 ") takes its declared default", db_path, c->name, rowid);
    int null = v->serial == 0 || v->serial == MISSING;
    if (null && !c->nullable)
        UNSUPPORTED("%s: NULL in the non-nullable column %s (rowid %" PRId64 ")", db_path, c->name, rowid);
    if (c->nullable) {
        reserve(&c->nulls, 1);
        c->nulls.data[c->nulls.len++] = (unsigned char)null;
    }
    size_t n = null || v->serial < 12 ? 0 : (size_t)serial_size((uint64_t)v->serial);
    int64_t x = 0;
    switch (c->kind) {
    case K_I16: case K_I32: case K_I64: case K_BOOL: {
        if (!null && !is_int(v)) goto unsupported;
        x = null ? 0 : int_of(v);
        if (c->kind == K_I16 && (x < INT16_MIN || x > INT16_MAX)) goto unsupported;
        if (c->kind == K_I32 && (x < INT32_MIN || x > INT32_MAX)) goto unsupported;
        if (c->kind == K_BOOL && (x < 0 || x > 1)) goto unsupported;
        int width = c->kind == K_I16 ? 2 : c->kind == K_I32 ? 4 : c->kind == K_BOOL ? 1 : 8;
        put(&c->values, &x, (size_t)width); /* little-endian host */
        return;
    }
    case K_F64: {
        double d = 0;
        if (!null) {
            if (v->serial == 7) d = real_of(v);
            else if (is_int(v)) d = (double)int_of(v);
            else goto unsupported;
        }
        put(&c->values, &d, 8);
        return;
    }
    case K_DATE: {
        int64_t days = 0;
        if (!null && !(is_text(v) && n == 10 && parse_date(v->body, &days))) goto unsupported;
        int32_t d32 = (int32_t)days;
        put(&c->values, &d32, 4);
        return;
    }
    case K_TS:
        if (!null && !(is_text(v) && parse_timestamp(v->body, n, &x))) goto unsupported;
        put(&c->values, &x, 8);
        return;
    case K_STR:
        if (null) put_uvarint(&c->values, 0);
        else if (is_text(v)) put_string(&c->values, v->body, n);
        else goto unsupported;
        return;
    case K_DEC4: case K_DEC8:
        if (null) x = 0;
        else if (is_int(v)) {
            x = int_of(v);
            if (x > INT64_MAX / pow10s[c->scale] || x < INT64_MIN / pow10s[c->scale]) goto unsupported;
            x *= pow10s[c->scale];
        } else if (v->serial == 7) {
            if (!real_to_decimal(real_of(v), c->scale, &x)) goto unsupported;
        } else if (!(is_text(v) && parse_decimal((const char *)v->body, n, c->scale, &x))) goto unsupported;
        if (x >= c->limit || x <= -c->limit) goto unsupported; /* the CAST refuses it: so does the copy */
        if (c->kind == K_DEC4) {
            if (x < INT32_MIN || x > INT32_MAX) goto unsupported;
            int32_t x32 = (int32_t)x;
            put(&c->values, &x32, 4);
        } else put(&c->values, &x, 8);
        return;
    }
unsupported:
    /* The value itself is not printed: the reason goes to logs, the value may be anyone's. */
    UNSUPPORTED("%s: column %s (rowid %" PRId64 "): %s it does not convert to %s exactly", db_path, c->name, rowid,
                v->serial == 7 ? "a real" : is_int(v) ? "an integer" : is_text(v) ? "text" : v->serial >= 12 ? "a blob" : "NULL",
                c->type);
}

static void flush_block(void) {
    if (!in_block) return;
    out.len = 0;
    put_uvarint(&out, (uint64_t)ncolumns + 3);
    put_uvarint(&out, in_block);
    fwrite(out.data, 1, out.len, stdout);
    for (int i = 0; i < ncolumns; i++) {
        column_t *c = &columns[i];
        out.len = 0;
        put_string(&out, c->name, strlen(c->name));
        put_string(&out, c->type, strlen(c->type));
        fwrite(out.data, 1, out.len, stdout);
        if (c->nullable) fwrite(c->nulls.data, 1, c->nulls.len, stdout);
        fwrite(c->values.data, 1, c->values.len, stdout);
        c->nulls.len = c->values.len = 0;
    }
    buf_t *data[] = {&change_seqs, &deleted, NULL};
    for (int i = 0; i < 3; i++) {
        out.len = 0;
        put_string(&out, load_columns[i][0], strlen(load_columns[i][0]));
        put_string(&out, load_columns[i][1], strlen(load_columns[i][1]));
        if (data[i]) put(&out, data[i]->data, data[i]->len);
        else for (uint64_t r = 0; r < in_block; r++) put(&out, &loaded_at, 8);
        fwrite(out.data, 1, out.len, stdout);
    }
    change_seqs.len = deleted.len = 0;
    in_block = 0;
    if (ferror(stdout)) FAIL("cannot write the rows: %s", strerror(errno));
}

/* The whole payload of a cell whose record spills onto overflow pages. */
static const unsigned char *gather_overflow(const unsigned char *local, size_t nlocal, uint64_t total, uint32_t next) {
    if (total > overflow_cap) {
        overflow_cap = total;
        if (!(overflow_payload = realloc(overflow_payload, overflow_cap))) FAIL("out of memory");
    }
    memcpy(overflow_payload, local, nlocal);
    size_t have = nlocal;
    while (have < total) {
        if (!next) FAIL("%s: overflow chain ends early", db_path);
        const unsigned char *p = page(next, scratch);
        size_t take = total - have < usable - 4 ? total - have : usable - 4;
        memcpy(overflow_payload + have, p + 4, take);
        have += take;
        next = be32(p);
    }
    return overflow_payload;
}

static void add_row(int64_t rowid, const unsigned char *payload, uint64_t size) {
    const unsigned char *end = payload + size, *p;
    uint64_t header_size;
    p = get_varint(payload, end, &header_size);
    if (header_size > size) FAIL("%s: bad record header (rowid %" PRId64 ")", db_path, rowid);
    const unsigned char *header_end = payload + header_size, *body = header_end;
    value_t *values = record_values;
    int nvalues = 0;
    while (p < header_end && nvalues <= max_index) {
        uint64_t serial;
        p = get_varint(p, header_end, &serial);
        uint64_t n = serial_size(serial);
        if (n > (uint64_t)(end - body)) FAIL("%s: record longer than its cell (rowid %" PRId64 ")", db_path, rowid);
        values[nvalues] = (value_t){(int64_t)serial, body, rowid};
        body += n;
        nvalues++;
    }
    /* Columns added by ALTER TABLE after the row was written: their default, which is NULL unless declared. */
    for (int i = nvalues; i <= max_index; i++) values[i] = (value_t){MISSING, NULL, rowid};
    if (!is_int(&values[seq_index])) UNSUPPORTED("%s: change_seq is not an integer (rowid %" PRId64 ")", db_path, rowid);
    int64_t seq = int_of(&values[seq_index]);
    if (seq <= after || seq > until) return;
    for (int i = 0; i < ncolumns; i++) {
        column_t *c = &columns[i];
        value_t v = c->index < 0 ? (value_t){-1, NULL, rowid} : values[c->index];
        add_value(c, &v, rowid);
    }
    uint64_t useq = (uint64_t)seq;
    put(&change_seqs, &useq, 8);
    unsigned char is_deleted = deleted_index >= 0 && values[deleted_index].serial > 0;
    put(&deleted, &is_deleted, 1);
    total_rows++;
    seq_sum += useq;
    if (++in_block == block_rows) flush_block();
}

/* The i-th child of an interior table page (i == ncells: the right-most), its cells checked to be on it. */
static uint32_t child(const unsigned char *pg, size_t offset, uint32_t i, uint32_t pgno) {
    uint32_t ncells = be16(pg + offset + 3);
    if (offset + 12 + 2 * (size_t)ncells > usable) FAIL("%s: page %u has more cells than room", db_path, pgno);
    if (i == ncells) return be32(pg + offset + 8);
    uint32_t cell = be16(pg + offset + 12 + 2 * i);
    if (cell + 4 > usable) FAIL("%s: cell past the end of page %u", db_path, pgno);
    return be32(pg + cell);
}

/* Every row of the B-tree under `pgno`, in rowid order. Interior pages are read into a buffer per depth and
 * leaves into their own: a page from the WAL is read into the buffer it is given, a page of the file is used
 * where it is mapped. */
static unsigned char *visited; /* a bit per page: a B-tree reaches each of its pages once */

static void walk(uint32_t pgno, int depth) {
    static unsigned char *buffers[64];
    if (depth >= 64) FAIL("%s: B-tree too deep", db_path);
    if (pgno == 0 || pgno > db_pages) FAIL("%s: page %u is past the end of the database", db_path, pgno);
    if (visited[pgno / 8] & (1 << pgno % 8)) FAIL("%s: page %u is in the B-tree twice", db_path, pgno);
    visited[pgno / 8] |= (unsigned char)(1 << pgno % 8);
    if (!buffers[depth] && !(buffers[depth] = malloc(page_size))) FAIL("out of memory");
    const unsigned char *pg = page(pgno, buffers[depth]);
    size_t offset = pgno == 1 ? 100 : 0;
    uint32_t ncells = be16(pg + offset + 3);
    const unsigned char *pend = pg + usable;
    if (pg[offset] == 0x05) { /* table interior: each cell's left child, then the right-most child */
        for (uint32_t i = 0; i <= ncells; i++) walk(child(pg, offset, i, pgno), depth + 1);
        return;
    }
    if (pg[offset] != 0x0d) FAIL("%s: page %u is not a table B-tree page (type %u)", db_path, pgno, pg[offset]);
    const unsigned char *cells = pg + offset + 8;
    if (offset + 8 + 2 * (size_t)ncells > usable) FAIL("%s: page %u has more cells than room", db_path, pgno);
    uint32_t max_local = usable - 35, min_local = (usable - 12) * 32 / 255 - 23;
    for (uint32_t i = 0; i < ncells; i++) {
        if (be16(cells + 2 * i) >= usable) FAIL("%s: cell past the end of page %u", db_path, pgno);
        const unsigned char *cell = pg + be16(cells + 2 * i);
        uint64_t payload_size, rowid;
        cell = get_varint(cell, pend, &payload_size);
        cell = get_varint(cell, pend, &rowid);
        if (payload_size <= max_local) {
            if (cell + payload_size > pend) FAIL("%s: cell past the end of page %u", db_path, pgno);
            add_row((int64_t)rowid, cell, payload_size);
            continue;
        }
        if (payload_size > 1000000000) FAIL("%s: a record of %" PRIu64 " bytes on page %u", db_path, payload_size, pgno);
        uint64_t local = min_local + (payload_size - min_local) % (usable - 4);
        if (local > max_local) local = min_local;
        if (cell + local + 4 > pend) FAIL("%s: cell past the end of page %u", db_path, pgno);
        add_row((int64_t)rowid, gather_overflow(cell, local, payload_size, be32(cell + local)), payload_size);
    }
}

static enum kind kind_of(const char *s) {
    static const char *names[] = {"i16", "i32", "i64", "f64", "bool", "date", "ts", "str", "dec4", "dec8"};
    for (int i = 0; i < 10; i++)
        if (!strcmp(s, names[i])) return (enum kind)i;
    FAIL("unknown column kind %s", s);
    return K_STR;
}

int main(int argc, char **argv) {
    if (argc < 16 || (argc - 16) % 6) FAIL("usage: see the comment at the top of sqlite_pages.c");
    db_path = argv[1];
    uint32_t root = (uint32_t)strtoul(argv[2], NULL, 10);
    after = strtoll(argv[3], NULL, 10);
    until = strtoll(argv[4], NULL, 10);
    loaded_at = strtoll(argv[5], NULL, 10);
    seq_index = atoi(argv[6]);
    deleted_index = atoi(argv[7]);
    block_rows = strtoull(argv[8], NULL, 10);
    uint32_t schema_cookie = (uint32_t)strtoul(argv[9], NULL, 10);
    for (int i = 0; i < 3; i++) {
        load_columns[i][0] = argv[10 + 2 * i];
        load_columns[i][1] = argv[11 + 2 * i];
    }
    ncolumns = (argc - 16) / 6;
    if (!(columns = calloc((size_t)ncolumns, sizeof *columns))) FAIL("out of memory");
    max_index = seq_index > deleted_index ? seq_index : deleted_index;
    for (int i = 0; i < ncolumns; i++) {
        char **a = argv + 16 + 6 * i;
        int flags = atoi(a[1]);
        columns[i] = (column_t){kind_of(a[0]), flags & 1, (flags & 2) != 0, atoi(a[2]), atoi(a[3]), 0, a[4], a[5], {0}, {0}};
        if (columns[i].scale < 0 || columns[i].scale > 18) FAIL("scale out of range");
        int precision = 0, scale = 0;
        const char *decimal = strstr(a[5], "Decimal(");
        if (decimal && (sscanf(decimal, "Decimal(%d, %d)", &precision, &scale) != 2 || precision < 1 ||
                        precision > 18 || scale != columns[i].scale))
            FAIL("column %s: a decimal type this reader does not write: %s", a[4], a[5]);
        columns[i].limit = pow10s[precision];
        if (columns[i].index > max_index) max_index = columns[i].index;
    }
    if (seq_index < 0 || block_rows == 0) FAIL("bad arguments");
    if (!(record_values = calloc((size_t)max_index + 1, sizeof *record_values))) FAIL("out of memory");

    db_fd = open(db_path, O_RDONLY | O_CLOEXEC);
    if (db_fd < 0) FAIL("%s: %s", db_path, strerror(errno));
    struct stat st;
    if (fstat(db_fd, &st) < 0) FAIL("%s: %s", db_path, strerror(errno));
    if (st.st_size < 512) UNSUPPORTED("%s: its first page is not in the file yet", db_path); /* only in the WAL */
    db_size = (size_t)st.st_size;
    db_map = mmap(NULL, db_size, PROT_READ, MAP_SHARED, db_fd, 0);
    if (db_map == MAP_FAILED) FAIL("%s: cannot map: %s", db_path, strerror(errno));
    madvise((void *)db_map, db_size, MADV_SEQUENTIAL);
    if (memcmp(db_map, "SQLite format 3", 16)) FAIL("%s: not a SQLite database", db_path);
    page_size = be16(db_map + 16) == 1 ? 65536 : be16(db_map + 16);
    usable = page_size - db_map[20];
    if (page_size < 512 || (page_size & (page_size - 1)) || usable < 480) FAIL("%s: bad page size", db_path);
    if (be32(db_map + 56) != 1) UNSUPPORTED("%s: text encoding is not UTF-8", db_path);
    if (!(scratch = malloc(page_size))) FAIL("out of memory");
    db_pages = (uint32_t)(db_size / page_size);
    if (db_map[18] == 2) open_wal(); /* WAL mode */
    if (!(visited = calloc((size_t)db_pages / 8 + 1, 1))) FAIL("out of memory");
    /* The record layout and root page came from the caller's snapshot: a schema changed since (a column dropped,
     * the table rebuilt by a migration, root pages moved by auto-vacuum) would put values in the wrong columns. */
    if (be32(page(1, scratch) + 40) != schema_cookie) UNSUPPORTED("%s: the schema changed since the snapshot", db_path);

    static char out_buffer[1 << 20];
    setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
    walk(root, 0);
    flush_block();
    if (fflush(stdout)) FAIL("cannot write the rows: %s", strerror(errno));
    fprintf(stderr, "rows=%" PRIu64 " seqsum=%" PRIu64 "\n", total_rows, seq_sum);
    return 0;
}
