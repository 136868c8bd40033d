/* cluster.c - the embedded PostgreSQL cluster under the data dir */
#define _DEFAULT_SOURCE 1 /* flock, setgroups */
#include "store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/log.h"
#include "base/mem.h"

/*
 * Layout: <dir>/data (PGDATA), <dir>/server.log, <dir>/.s.PGSQL.<port>
 * (the socket: no TCP listener). <dir> is <data_dir>/pg, unless callscope
 * runs as root and the unprivileged user that must own the cluster cannot
 * reach that folder, or the socket path would be too long: then it is
 * /var/tmp/callscope-pg-<hash of the data dir> (derived, so every run
 * finds it again). Starting is serialised by flock on <data_dir>/pg.lock.
 */
#define PG_PORT 5432
#define PG_USER "callscope"
#define PG_DB "callscope"

struct cluster {
    char *dir;
    char *bindir;
    const char *run_as;     /* NULL: this user */
    uid_t uid;
    gid_t gid;
};

static void cluster_release(struct cluster *c)
{
    free(c->dir);
    free(c->bindir);
}

/* The newest /usr/lib/postgresql/<n>/bin with initdb, or $CALLSCOPE_PG_BIN. */
static int find_bindir(char **out, struct cs_err *err)
{
    const char *env = getenv("CALLSCOPE_PG_BIN");
    DIR *d;
    struct dirent *e;
    long best = -1;
    char path[PATH_MAX];

    if (env && *env) {
        *out = cs_xstrdup(env);
        return 0;
    }
    d = opendir("/usr/lib/postgresql");
    if (d) {
        while ((e = readdir(d)) != NULL) {
            char *end;
            long v = strtol(e->d_name, &end, 10);

            if (*end || end == e->d_name)
                continue;
            snprintf(path, sizeof(path), "/usr/lib/postgresql/%s/bin/initdb",
                     e->d_name);
            if (v > best && access(path, X_OK) == 0)
                best = v;
        }
        closedir(d);
    }
    if (best < 0)
        return cs_err_set(err, CS_ENOTFOUND, "no PostgreSQL server found "
                          "(install the 'postgresql' package, or set "
                          "CALLSCOPE_DATABASE_URL)");
    snprintf(path, sizeof(path), "/usr/lib/postgresql/%ld/bin", best);
    *out = cs_xstrdup(path);
    return 0;
}

/* 1 if user uid/gid can search every directory on the way to `path`. */
static int reachable(const char *path, uid_t uid, gid_t gid)
{
    char *p = cs_xstrdup(path);
    int ok = 1;

    for (char *s = p; ok; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            struct stat st;

            *s = '\0';
            if (stat(*p ? p : "/", &st) == 0) {
                mode_t need = st.st_uid == uid ? S_IXUSR
                              : st.st_gid == gid ? S_IXGRP : S_IXOTH;

                ok = (st.st_mode & need) != 0;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return ok;
}

static int cluster_locate(struct cluster *c, const struct cs_config *cfg,
                          int create, struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    char abs[PATH_MAX];
    char hash[17];
    int ret;

    memset(c, 0, sizeof(*c));
    ret = find_bindir(&c->bindir, err);
    if (ret)
        return ret;
    if (create) {
        ret = cs_fs_mkdirs(cfg->data_dir, err);
        if (ret)
            return ret;
    }
    if (!realpath(cfg->data_dir, abs))
        return cs_err_set(err, CS_ENOTFOUND, "data dir '%s': %s",
                          cfg->data_dir, strerror(errno));
    c->uid = geteuid();
    c->gid = getegid();
    if (c->uid == 0) {
        struct passwd *pw = getpwnam("postgres");

        if (!pw)
            return cs_err_set(err, CS_ERROR, "running as root needs the "
                              "'postgres' user to own the embedded cluster "
                              "(PostgreSQL refuses root)");
        c->run_as = "postgres";
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
    }
    cs_buf_addf(&b, "%s/pg", abs);
    if ((c->run_as && !reachable(abs, c->uid, c->gid)) || b.len > 80) {
        cs_sha256_hex(abs, strlen(abs), hash, 16);
        cs_buf_reset(&b);
        cs_buf_addf(&b, "/var/tmp/callscope-pg-%s", hash);
    }
    c->dir = cs_buf_detach(&b, NULL);
    return 0;
}

/* Runs argv (as the cluster user), output appended to `log`; exit status. */
static int run(const struct cluster *c, char *const argv[], const char *log)
{
    pid_t pid;
    int status;

    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd;

        if (chdir(c->dir) < 0)
            _exit(126);
        if (c->run_as) {
            if (setgroups(0, NULL) < 0 || setgid(c->gid) < 0 ||
                setuid(c->uid) < 0)
                _exit(126);
        }
        /* Opened as the cluster's user, so PostgreSQL can append too. */
        fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void tool(struct cs_buf *b, const struct cluster *c, const char *name)
{
    cs_buf_reset(b);
    cs_buf_addf(b, "%s/%s", c->bindir, name);
}

static char *conninfo(const struct cluster *c)
{
    struct cs_buf b = CS_BUF_INIT;

    cs_buf_addf(&b, "host=%s port=%d user=%s dbname=%s", c->dir, PG_PORT,
                PG_USER, PG_DB);
    return cs_buf_detach(&b, NULL);
}

static int is_running(const struct cluster *c)
{
    struct cs_buf b = CS_BUF_INIT;
    int up;

    cs_buf_addf(&b, "%s/.s.PGSQL.%d", c->dir, PG_PORT);
    up = cs_fs_exists(b.ptr);
    cs_buf_release(&b);
    if (up) {
        struct cs_buf exe = CS_BUF_INIT, data = CS_BUF_INIT,
                      log = CS_BUF_INIT;
        char *argv[5];

        tool(&exe, c, "pg_ctl");
        cs_buf_addf(&data, "%s/data", c->dir);
        cs_buf_addf(&log, "%s/ctl.log", c->dir);
        argv[0] = exe.ptr;
        argv[1] = "status";
        argv[2] = "-D";
        argv[3] = data.ptr;
        argv[4] = NULL;
        up = run(c, argv, log.ptr) == 0;
        cs_buf_release(&exe);
        cs_buf_release(&data);
        cs_buf_release(&log);
    }
    return up;
}

static int tail_log(struct cs_err *err, int code, const char *what,
                    const char *log)
{
    char *text = NULL;
    size_t len = 0;
    const char *last;

    if (cs_fs_read(&text, &len, log, 1 << 20, NULL) == 0 && len) {
        while (len && (text[len - 1] == '\n'))
            text[--len] = '\0';
        last = strrchr(text, '\n');
        cs_err_set(err, code, "%s (%s: %s)", what, log,
                   last ? last + 1 : text);
    } else {
        cs_err_set(err, code, "%s (see %s)", what, log);
    }
    free(text);
    return code;
}

static int cluster_start(const struct cluster *c, struct cs_err *err)
{
    struct cs_buf exe = CS_BUF_INIT, data = CS_BUF_INIT, log = CS_BUF_INIT,
                  opts = CS_BUF_INIT, ver = CS_BUF_INIT;
    int ret = 0;

    if (cs_fs_mkdirs(c->dir, err) < 0)
        return CS_EIO;
    if (c->run_as && chown(c->dir, c->uid, c->gid) < 0) {
        ret = cs_err_set(err, CS_EIO, "cannot give '%s' to %s: %s", c->dir,
                         c->run_as, strerror(errno));
        goto done;
    }
    chmod(c->dir, 0700);
    cs_buf_addf(&data, "%s/data", c->dir);
    cs_buf_addf(&ver, "%s/data/PG_VERSION", c->dir);
    if (!cs_fs_exists(ver.ptr)) {
        char *argv[] = {NULL, "-D", data.ptr, "-U", PG_USER, "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", NULL};

        cs_log(CS_LOG_INFO, "creating the embedded PostgreSQL cluster in %s",
               c->dir);
        cs_buf_addf(&log, "%s/initdb.log", c->dir);
        tool(&exe, c, "initdb");
        argv[0] = exe.ptr;
        if (run(c, argv, log.ptr) != 0) {
            ret = tail_log(err, CS_EDB, "initdb failed", log.ptr);
            goto done;
        }
    }
    cs_buf_reset(&log);
    cs_buf_addf(&log, "%s/server.log", c->dir);
    cs_buf_reset(&ver);
    cs_buf_addf(&ver, "%s/ctl.log", c->dir);
    cs_buf_addf(&opts, "-p %d -k %s -c listen_addresses=''", PG_PORT, c->dir);
    {
        char *argv[] = {NULL, "-D", data.ptr, "-l", log.ptr, "-w", "-t", "60",
                        "-o", opts.ptr, "start", NULL};

        tool(&exe, c, "pg_ctl");
        argv[0] = exe.ptr;
        if (run(c, argv, ver.ptr) != 0) {
            ret = tail_log(err, CS_EDB, "the embedded PostgreSQL did not "
                           "start", log.ptr);
            goto done;
        }
    }
    /* The database is created once, after the first start; the marker
     * tells later starts it exists. */
    cs_buf_reset(&data);
    cs_buf_addf(&data, "%s/data/callscope.created", c->dir);
    if (!cs_fs_exists(data.ptr)) {
        char port[16];
        char *argv[] = {NULL, "-h", c->dir, "-p", port, "-U", PG_USER,
                        PG_DB, NULL};
        FILE *f;

        snprintf(port, sizeof(port), "%d", PG_PORT);
        tool(&exe, c, "createdb");
        argv[0] = exe.ptr;
        if (run(c, argv, ver.ptr) != 0) {
            ret = tail_log(err, CS_EDB, "cannot create the database",
                           ver.ptr);
            goto done;
        }
        f = fopen(data.ptr, "w");
        if (f)
            fclose(f);
    }
done:
    cs_buf_release(&exe);
    cs_buf_release(&data);
    cs_buf_release(&log);
    cs_buf_release(&opts);
    cs_buf_release(&ver);
    return ret;
}

static int lock_data_dir(const struct cs_config *cfg, struct cs_err *err)
{
    struct cs_buf b = CS_BUF_INIT;
    int fd;

    cs_buf_addf(&b, "%s/pg.lock", cfg->data_dir);
    fd = open(b.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        cs_err_set(err, CS_EIO, "cannot lock '%s': %s", b.ptr,
                   strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    cs_buf_release(&b);
    return fd;
}

int cs_cluster_ensure(char **conninfo_out, const struct cs_config *cfg,
                      struct cs_err *err)
{
    struct cluster c;
    int fd = -1, ret;

    *conninfo_out = NULL;
    ret = cluster_locate(&c, cfg, 1, err);
    if (ret)
        goto done;
    if (!is_running(&c)) {
        fd = lock_data_dir(cfg, err);
        if (fd < 0) {
            ret = CS_EIO;
            goto done;
        }
        if (!is_running(&c)) {
            ret = cluster_start(&c, err);
            if (ret)
                goto done;
        }
    }
    *conninfo_out = conninfo(&c);
done:
    if (fd >= 0)
        close(fd);
    cluster_release(&c);
    return ret;
}

int cs_cluster_stop(const struct cs_config *cfg, struct cs_err *err)
{
    struct cs_buf exe = CS_BUF_INIT, data = CS_BUF_INIT, log = CS_BUF_INIT;
    struct cluster c;
    int ret;

    ret = cluster_locate(&c, cfg, 0, err);
    if (ret)
        goto done;
    if (!is_running(&c))
        goto done;
    cs_buf_addf(&data, "%s/data", c.dir);
    cs_buf_addf(&log, "%s/ctl.log", c.dir);
    tool(&exe, &c, "pg_ctl");
    {
        char *argv[] = {exe.ptr, "-D", data.ptr, "-m", "fast", "-w", "stop",
                        NULL};

        if (run(&c, argv, log.ptr) != 0)
            ret = tail_log(err, CS_EDB, "pg_ctl stop failed", log.ptr);
    }
done:
    cs_buf_release(&exe);
    cs_buf_release(&data);
    cs_buf_release(&log);
    cluster_release(&c);
    return ret;
}

int cs_cluster_status(const struct cs_config *cfg, char **where_out)
{
    struct cluster c;
    struct cs_buf ver = CS_BUF_INIT;
    int state;

    if (where_out)
        *where_out = NULL;
    if (!cs_fs_exists(cfg->data_dir) || cluster_locate(&c, cfg, 0, NULL))
        return 2;
    cs_buf_addf(&ver, "%s/data/PG_VERSION", c.dir);
    if (!cs_fs_exists(ver.ptr))
        state = 2;
    else
        state = is_running(&c);
    if (where_out)
        *where_out = cs_xstrdup(c.dir);
    cs_buf_release(&ver);
    cluster_release(&c);
    return state;
}
