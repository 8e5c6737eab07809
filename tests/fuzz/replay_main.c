/* replay_main.c: a main() for the harnesses without libFuzzer.  Each
 * argument is a file, or a directory whose regular files are run in name
 * order, through LLVMFuzzerTestOneInput -- the same invariants, under the
 * normal ASan+UBSan build (make MODE=san fuzz-replay).  CI uses it to replay
 * tests/fuzz/regress/ when clang is not installed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            uint8_t *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    fclose(f);
    /* an exact-size copy, so reads past the end are caught */
    {
        uint8_t *exact = n ? malloc(n) : NULL;
        if (n && exact == NULL) {
            free(buf);
            return -1;
        }
        if (n)
            memcpy(exact, buf, n);
        free(buf);
        (void)LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    return 0;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    int files = 0;

    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "%s: no such file\n", argv[i]);
            return 2;
        }
        if (S_ISDIR(sb.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *de;
            char **names = NULL;
            size_t nn = 0;
            if (d == NULL)
                return 2;
            while ((de = readdir(d)) != NULL) {
                char **nb;
                size_t len;
                if (de->d_name[0] == '.' || strcmp(de->d_name, "README") == 0)
                    continue;
                nb = realloc(names, (nn + 1) * sizeof(*names));
                if (nb == NULL)
                    return 2;
                names = nb;
                len = strlen(argv[i]) + strlen(de->d_name) + 2;
                names[nn] = malloc(len);
                if (names[nn] == NULL)
                    return 2;
                snprintf(names[nn], len, "%s/%s", argv[i], de->d_name);
                nn++;
            }
            closedir(d);
            if (nn > 1)
                qsort(names, nn, sizeof(*names), cmp);
            for (size_t k = 0; k < nn; k++) {
                if (run_file(names[k]) != 0)
                    return 2;
                files++;
                free(names[k]);
            }
            free(names);
        } else {
            if (run_file(argv[i]) != 0)
                return 2;
            files++;
        }
    }
    printf("replayed %d input(s)\n", files);
    return 0;
}
