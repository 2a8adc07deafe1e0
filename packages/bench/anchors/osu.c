/*
 * osu.c - a small OSU-style MPI micro-benchmark: the Open MPI + UCX anchor
 * that `rdmajs-bench mp` will be compared against (see README.md beside it).
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
 *
 * Output (rank 0, stdout): one JSON object per line, first an "info" line,
 * then one line per size, e.g.
 *   {"test":"latency","bytes":8,"iters":1000,"usec":23.41,"p50_usec":21.90}
 *   {"test":"bw","bytes":1048576,"iters":5,"window":64,"mib_s":61.2}
 *   {"test":"allreduce","bytes":8,"ranks":4,"iters":500,"usec":81.2,"min_usec":80.9,"max_usec":81.5,"p50_usec":78.0}
 * "usec" is the OSU-style mean (total time / iterations; allreduce: mean over
 * ranks, min/max = fastest/slowest rank). "p50_usec" is the median of the
 * per-iteration times (allreduce: mean over ranks of each rank's median); it
 * is robust against the multi-millisecond stalls an emulated VM on a loaded
 * host produces. Each iteration reads the clock once (MPI_Wtime), which is
 * included in both figures.
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

/* Ping-pong between ranks 0 and 1; other ranks only join the barriers.
 * Returns the mean one-way time in microseconds, *p50 the median (rank 0). */
static double run_latency(char *buf, size_t bytes, int iters, int warmup, double *p50)
{
    double t0 = 0, prev = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < warmup + iters; i++) {
        if (i == warmup) { MPI_Barrier(MPI_COMM_WORLD); t0 = prev = MPI_Wtime(); }
        if (i > warmup) { double now = MPI_Wtime(); lap[i - warmup - 1] = now - prev; prev = now; }
        if (rank == 0) {
            MPI_Send(buf, (int)bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
            MPI_Recv(buf, (int)bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            MPI_Recv(buf, (int)bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, (int)bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
        }
    }
    double end = MPI_Wtime();
    lap[iters - 1] = end - prev;
    *p50 = median(iters) * 1e6 / 2.0;
    return (end - t0) * 1e6 / (2.0 * iters); /* one-way, microseconds */
}

/* OSU bw: rank 0 posts `window` isends, rank 1 `window` irecvs; a 4-byte ack
 * closes each iteration so the sender cannot run ahead. */
static double run_bw(char *sbuf, char *rbuf, size_t bytes, int iters, int warmup,
                     int window)
{
    MPI_Request req[window];
    char ack[4] = {0};
    double t0 = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < warmup + iters; i++) {
        if (i == warmup) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
        if (rank == 0) {
            for (int w = 0; w < window; w++)
                MPI_Isend(sbuf, (int)bytes, MPI_CHAR, 1, 2, MPI_COMM_WORLD, &req[w]);
            MPI_Waitall(window, req, MPI_STATUSES_IGNORE);
            MPI_Recv(ack, 4, MPI_CHAR, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
            for (int w = 0; w < window; w++)
                MPI_Irecv(rbuf, (int)bytes, MPI_CHAR, 0, 2, MPI_COMM_WORLD, &req[w]);
            MPI_Waitall(window, req, MPI_STATUSES_IGNORE);
            MPI_Send(ack, 4, MPI_CHAR, 0, 3, MPI_COMM_WORLD);
        }
    }
    double secs = MPI_Wtime() - t0;
    return (double)bytes * window * iters / secs / (1024.0 * 1024.0); /* MiB/s */
}

/* Mean time of one MPI_Allreduce on this rank in microseconds, *p50 the
 * median; checks the sum. */
static double run_allreduce(double *in, double *out, size_t bytes, int iters, int warmup,
                            double *p50)
{
    int count = (int)(bytes / sizeof(double));
    double t0 = 0, prev = 0;
    for (int i = 0; i < count; i++) in[i] = rank + 1;
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < warmup + iters; i++) {
        if (i == warmup) { MPI_Barrier(MPI_COMM_WORLD); t0 = prev = MPI_Wtime(); }
        if (i > warmup) { double now = MPI_Wtime(); lap[i - warmup - 1] = now - prev; prev = now; }
        MPI_Allreduce(in, out, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
    double end = MPI_Wtime();
    lap[iters - 1] = end - prev;
    *p50 = median(iters) * 1e6;
    double usec = (end - t0) * 1e6 / iters;
    double want = (double)nranks * (nranks + 1) / 2;
    if (count > 0 && (out[0] != want || out[count - 1] != want)) die("allreduce: wrong sum");
    return usec;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    if (argc < 2) die("usage: osu latency|bw|allreduce [-s sizes] [-M max] [-n iters] [-m min] [-w warmup] [-W window]");
    const char *test = argv[1];
    int is_lat = !strcmp(test, "latency"), is_bw = !strcmp(test, "bw"),
        is_ar = !strcmp(test, "allreduce");
    if (!is_lat && !is_bw && !is_ar) die("test must be latency, bw or allreduce");
    if (!is_ar && nranks < 2) die("latency and bw need at least 2 ranks");

    size_t sizes[MAX_SIZES], maxbytes = 4u << 20;
    int nsizes = 0, n = is_lat ? 1000 : is_bw ? 100 : 500, min = 5, warm = -1, window = 64;
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
        else die("unknown option");
        i++;
    }
    if (n < 1 || min < 1 || window < 1) die("counts must be >= 1");
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
        printf("{\"test\":\"info\",\"bench\":\"%s\",\"ranks\":%d,\"mpi\":\"%s\"}\n", test, nranks, lib);
        fflush(stdout);
    }

    for (int i = 0; i < nsizes; i++) {
        size_t bytes = sizes[i];
        int iters = scaled(n, min, bytes), wu = scaled(warm, 1, bytes);
        if (is_lat) {
            double p50, usec = run_latency(a, bytes, iters, wu, &p50);
            if (rank == 0)
                printf("{\"test\":\"latency\",\"bytes\":%zu,\"iters\":%d,\"usec\":%.2f,\"p50_usec\":%.2f}\n",
                       bytes, iters, usec, p50);
        } else if (is_bw) {
            double mibs = run_bw(a, b, bytes, iters, wu, window);
            if (rank == 0)
                printf("{\"test\":\"bw\",\"bytes\":%zu,\"iters\":%d,\"window\":%d,\"mib_s\":%.2f}\n",
                       bytes, iters, window, mibs);
        } else {
            double p50, p50sum, usec = run_allreduce(a, b, bytes, iters, wu, &p50), sum, lo, hi;
            MPI_Reduce(&usec, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
            MPI_Reduce(&p50, &p50sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
            MPI_Reduce(&usec, &lo, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
            MPI_Reduce(&usec, &hi, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
            if (rank == 0)
                printf("{\"test\":\"allreduce\",\"bytes\":%zu,\"ranks\":%d,\"iters\":%d,"
                       "\"usec\":%.2f,\"min_usec\":%.2f,\"max_usec\":%.2f,\"p50_usec\":%.2f}\n",
                       bytes, nranks, iters, sum / nranks, lo, hi, p50sum / nranks);
        }
        if (rank == 0) fflush(stdout);
    }

    free(lap);
    free(a);
    free(b);
    MPI_Finalize();
    return 0;
}
