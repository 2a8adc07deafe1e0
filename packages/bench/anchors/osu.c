/*
 * osu.c - a small OSU-style MPI micro-benchmark: the Open MPI + UCX anchor
 * for @rdmajs/mp (packages/bench/src/mp/osu.ts is its twin, with
 * the same options and the same output). scripts/bench-mp.sh builds and runs it.
 *
 *   mpicc.openmpi -O2 -o osu osu.c
 *   mpirun ... -n 2 ./osu latency   [options]   ping-pong, half round trip (rank 0 <-> 1)
 *   mpirun ... -n 2 ./osu bw        [options]   windowed isend/irecv bandwidth 0 -> 1
 *   mpirun ... -n 4 ./osu allreduce [options]   MPI_Allreduce(MPI_SUM) of doubles, all ranks
 *
 * Options:
 *   -s LIST   message sizes in bytes, comma separated, K/M suffixes allowed
 *             (default: powers of two, 1 B .. 4 MiB; allreduce 8 B .. 4 MiB)
 *   -M BYTES  drop default sizes above BYTES
 *   -n N      iterations for sizes <= 8 KiB (default latency 1000, bw 100,
 *             allreduce 500); above 8 KiB scaled by 8 KiB / size ...
 *   -m N      ... but never below N (default 5)
 *   -w N      warm-up iterations for sizes <= 8 KiB, scaled alike (default n/10, >= 1)
 *   -W N      bw window: messages in flight per iteration (default 64)
 *   -j N      N more untimed iterations of the first size before it (default 0):
 *             time for a JIT (mp/osu.ts) or lazy set-up to settle
 *
 * Output (rank 0, stdout): one JSON object per line, first an "info" line,
 * then one line per size:
 *   {"test":"info","bench":"latency","ranks":2,"impl":"Open MPI v4.1.4, ..."}
 *   {"test":"latency","bytes":8,"iters":1000,"usec":21.90,"mean_usec":23.41}
 *   {"test":"bw","bytes":1048576,"iters":5,"window":64,"mb_s":64.20,"mean_mb_s":61.20}
 *   {"test":"allreduce","bytes":8,"ranks":4,"iters":500,"usec":78.00,"mean_usec":81.20}
 * The headline figure ("usec", "mb_s") is the MEDIAN over the measured
 * iterations, robust against the stalls an emulated VM produces; "mean_*" is
 * OSU's figure (total time / iterations). One iteration is: latency, one
 * round trip (reported halved: one-way); bw, one window of `-W` messages
 * plus the receiver's 4-byte ack (MB/s = 10^6 bytes/s = bytes*window/time);
 * allreduce, one MPI_Allreduce, its time averaged over the ranks (the
 * per-iteration times are summed across ranks with MPI_Reduce after the
 * timed loop). Each iteration reads the clock (MPI_Wtime) once, included.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZES 64
#define SMALL     8192 /* sizes up to this run the full iteration count */

static int rank, nranks;
static double *lap; /* per-iteration times, seconds (sized for the largest count) */

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Median of lap[0..n), in place. */
static double median(int n)
{
    qsort(lap, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? lap[n / 2] : (lap[n / 2 - 1] + lap[n / 2]) / 2;
}

static void die(const char *msg)
{
    if (rank == 0) fprintf(stderr, "osu: %s\n", msg);
    MPI_Abort(MPI_COMM_WORLD, 2);
    exit(2);
}

/* "64K" -> 65536 */
static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s) die("bad size");
    if (*end == 'k' || *end == 'K') v <<= 10, end++;
    else if (*end == 'm' || *end == 'M') v <<= 20, end++;
    if (*end != '\0' && *end != ',') die("bad size suffix");
    return (size_t)v;
}

/* Iterations (or warm-up rounds) for one size: n up to 8 KiB, then n*8K/size, >= min. */
static int scaled(int n, int min, size_t bytes)
{
    long it = bytes <= SMALL ? n : (long)((double)n * SMALL / (double)bytes);
    return it < min ? min : (int)it;
}

/* What one size measured: the median and the mean iteration, seconds. */
struct timing {
    double median, mean;
};

/* Runs `iters` timed iterations of step() after `warmup` untimed ones,
 * between barriers; lap[i] = the i-th timed iteration's time (seconds). */
static struct timing timed(void (*step)(void *), void *arg, int iters, int warmup)
{
    double t0, prev, now;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < warmup; i++) step(arg);
    MPI_Barrier(MPI_COMM_WORLD);
    t0 = prev = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        step(arg);
        now = MPI_Wtime();
        lap[i] = now - prev;
        prev = now;
    }
    struct timing t = { 0, (prev - t0) / iters };
    return t;
}

struct args {
    char *sbuf, *rbuf;
    double *in, *out;
    size_t bytes;
    int window;
    MPI_Request *req;
};

/* Ping-pong between ranks 0 and 1; other ranks only join the barriers. */
static void step_latency(void *p)
{
    struct args *a = p;
    if (rank == 0) {
        MPI_Send(a->sbuf, (int)a->bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
        MPI_Recv(a->sbuf, (int)a->bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
        MPI_Recv(a->sbuf, (int)a->bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(a->sbuf, (int)a->bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
    }
}

/* OSU bw: rank 0 posts `window` isends, rank 1 `window` irecvs; a 4-byte ack
 * closes each iteration so the sender cannot run ahead. */
static void step_bw(void *p)
{
    struct args *a = p;
    char ack[4] = { 0 };
    if (rank == 0) {
        for (int w = 0; w < a->window; w++)
            MPI_Isend(a->sbuf, (int)a->bytes, MPI_CHAR, 1, 2, MPI_COMM_WORLD, &a->req[w]);
        MPI_Waitall(a->window, a->req, MPI_STATUSES_IGNORE);
        MPI_Recv(ack, 4, MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
        for (int w = 0; w < a->window; w++)
            MPI_Irecv(a->rbuf, (int)a->bytes, MPI_CHAR, 0, 2, MPI_COMM_WORLD, &a->req[w]);
        MPI_Waitall(a->window, a->req, MPI_STATUSES_IGNORE);
        MPI_Send(ack, 4, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
    }
}

static void step_allreduce(void *p)
{
    struct args *a = p;
    MPI_Allreduce(a->in, a->out, (int)(a->bytes / sizeof(double)), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    if (argc < 2) die("usage: osu latency|bw|allreduce [-s sizes] [-M max] [-n iters] [-m min] [-w warmup] [-W window] [-j rounds]");
    const char *test = argv[1];
    int is_lat = !strcmp(test, "latency"), is_bw = !strcmp(test, "bw"),
        is_ar = !strcmp(test, "allreduce");
    if (!is_lat && !is_bw && !is_ar) die("test must be latency, bw or allreduce");
    if (!is_ar && nranks < 2) die("latency and bw need at least 2 ranks");

    size_t sizes[MAX_SIZES], maxbytes = 4u << 20;
    int nsizes = 0, n = is_lat ? 1000 : is_bw ? 100 : 500, min = 5, warm = -1, window = 64, jit = 0;
    const char *list = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) die("option needs a value");
        if (!strcmp(a, "-s")) list = v;
        else if (!strcmp(a, "-M")) maxbytes = parse_size(v);
        else if (!strcmp(a, "-n")) n = atoi(v);
        else if (!strcmp(a, "-m")) min = atoi(v);
        else if (!strcmp(a, "-w")) warm = atoi(v);
        else if (!strcmp(a, "-W")) window = atoi(v);
        else if (!strcmp(a, "-j")) jit = atoi(v);
        else die("unknown option");
        i++;
    }
    if (n < 1 || min < 1 || window < 1 || jit < 0) die("counts must be >= 1 (-j >= 0)");
    if (warm < 0) warm = n / 10 > 0 ? n / 10 : 1;

    if (list) { /* explicit list */
        for (const char *p = list; *p && nsizes < MAX_SIZES; ) {
            sizes[nsizes++] = parse_size(p);
            p = strchr(p, ',');
            if (!p) break;
            p++;
        }
    } else { /* powers of two */
        for (size_t s = is_ar ? 8 : 1; s <= maxbytes && nsizes < MAX_SIZES; s *= 2) sizes[nsizes++] = s;
    }

    size_t maxsize = 8;
    for (int i = 0; i < nsizes; i++) {
        if (is_ar && sizes[i] % sizeof(double)) die("allreduce sizes must be multiples of 8");
        if (sizes[i] > (size_t)INT32_MAX) die("size too large");
        if (sizes[i] > maxsize) maxsize = sizes[i];
    }

    /* Page-aligned, touched buffers (so registration sees mapped pages). */
    void *a = NULL, *b = NULL;
    if (posix_memalign(&a, 4096, maxsize) || posix_memalign(&b, 4096, maxsize)) die("out of memory");
    memset(a, 'a', maxsize);
    memset(b, 'b', maxsize);
    if (!(lap = malloc(sizeof(double) * (size_t)(n > min ? n : min)))) die("out of memory");

    if (rank == 0) {
        char lib[MPI_MAX_LIBRARY_VERSION_STRING];
        int len;
        MPI_Get_library_version(lib, &len);
        char *nl = strchr(lib, '\n');
        if (nl) *nl = '\0';
        for (char *c = lib; *c; c++) if (*c == '"' || *c == '\\') *c = ' ';
        printf("{\"test\":\"info\",\"bench\":\"%s\",\"ranks\":%d,\"impl\":\"%s\"}\n", test, nranks, lib);
        fflush(stdout);
    }

    MPI_Request *req = malloc(sizeof(MPI_Request) * (size_t)window);
    double *lapsum = malloc(sizeof(double) * (size_t)(n > min ? n : min));
    if (!req || !lapsum) die("out of memory");
    for (int i = 0; i < nsizes; i++) {
        size_t bytes = sizes[i];
        int iters = scaled(n, min, bytes), wu = scaled(warm, 1, bytes) + (i == 0 ? jit : 0);
        struct args arg = { a, b, a, b, bytes, window, req };
        if (is_lat) {
            struct timing t = timed(step_latency, &arg, iters, wu);
            t.median = median(iters);
            if (rank == 0)
                printf("{\"test\":\"latency\",\"bytes\":%zu,\"iters\":%d,\"usec\":%.3f,\"mean_usec\":%.3f}\n",
                       bytes, iters, t.median * 1e6 / 2, t.mean * 1e6 / 2);
        } else if (is_bw) {
            struct timing t = timed(step_bw, &arg, iters, wu);
            t.median = median(iters);
            double per = (double)bytes * window / 1e6;
            if (rank == 0)
                printf("{\"test\":\"bw\",\"bytes\":%zu,\"iters\":%d,\"window\":%d,\"mb_s\":%.3f,\"mean_mb_s\":%.3f}\n",
                       bytes, iters, window, per / t.median, per / t.mean);
        } else {
            int count = (int)(bytes / sizeof(double));
            for (int k = 0; k < count; k++) ((double *)a)[k] = rank + 1;
            struct timing t = timed(step_allreduce, &arg, iters, wu);
            double want = (double)nranks * (nranks + 1) / 2;
            if (count > 0 && (((double *)b)[0] != want || ((double *)b)[count - 1] != want)) die("allreduce: wrong sum");
            /* Each iteration's time averaged over the ranks, then the median. */
            double mean;
            MPI_Reduce(lap, lapsum, iters, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
            MPI_Reduce(&t.mean, &mean, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
            if (rank == 0) {
                memcpy(lap, lapsum, sizeof(double) * (size_t)iters);
                printf("{\"test\":\"allreduce\",\"bytes\":%zu,\"ranks\":%d,\"iters\":%d,\"usec\":%.3f,\"mean_usec\":%.3f}\n",
                       bytes, nranks, iters, median(iters) * 1e6 / nranks, mean * 1e6 / nranks);
            }
        }
        if (rank == 0) fflush(stdout);
    }
    free(req);
    free(lapsum);
    free(lap);
    free(a);
    free(b);
    MPI_Finalize();
    return 0;
}
