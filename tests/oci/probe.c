/* A tiny static program that reports what it finds around it, one key=value per line.
   Built with `gcc -static` by tests/oci/conftest.py; it needs nothing from the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

extern char **environ;

static void passwd_entry(unsigned uid) {
    FILE *f = fopen("/etc/passwd", "r");
    char line[1024], name[256] = "?", home[512] = "?";
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char *fields[7] = {0};
            int n = 0;
            for (char *p = strtok(line, ":\n"); p && n < 7; p = strtok(NULL, ":\n")) fields[n++] = p;
            if (n >= 6 && (unsigned)strtoul(fields[2], NULL, 10) == uid) {
                snprintf(name, sizeof name, "%s", fields[0]);
                snprintf(home, sizeof home, "%s", fields[5]);
                break;
            }
        }
        fclose(f);
    }
    printf("user=%s\nhome=%s\n", name, home);
}

static void file_size(const char *key, const char *path) {
    struct stat st;
    if (path && stat(path, &st) == 0) printf("%s=%lld\n", key, (long long)st.st_size);
    else printf("%s=absent\n", key);
}

int main(int argc, char **argv) {
    struct stat st;
    char cwd[1024], tmpl[] = "/tmp/probe-XXXXXX";
    printf("uid=%u\ngid=%u\n", (unsigned)getuid(), (unsigned)getgid());
    passwd_entry(getuid());
    int fd = mkstemp(tmpl);
    printf("tmp_writable=%s\n", fd >= 0 ? "yes" : "no");
    if (fd >= 0) { close(fd); unlink(tmpl); }
    if (stat("/tmp", &st) == 0) printf("tmp_mode=%o\n", (unsigned)(st.st_mode & 07777));
    printf("bin_sh=%s\n", access("/bin/sh", F_OK) == 0 ? "present" : "absent");
    file_size("ssl_cert_file_size", getenv("SSL_CERT_FILE"));
    printf("cwd=%s\n", getcwd(cwd, sizeof cwd) ? cwd : "?");
    for (int i = 0; i < argc; i++) printf("arg%d=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++) printf("env:%s\n", *e);
    return 0;
}
