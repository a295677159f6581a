/*
 * bulkhead-jail: confines a component before it runs one instruction of its own
 * (docs/confinement.md). The kernel starts this small program with posix_spawn; it applies
 * what the kernel prepared and then replaces itself with the component (exec in place, so
 * the component keeps the pid, the parent and the parent-death signal the kernel watches).
 *
 * Two modes, both driven only by the Bulkhead kernel (root), never by a component:
 *
 *   bulkhead-jail prepare NAMESPACES SPEC...
 *       Unshares NAMESPACES (a comma list of mnt, net, ipc, uts) and, with mnt, builds a
 *       root file system from SPECs: "ro:PATH" binds PATH read-only at the same path,
 *       "link:PATH" copies the host's symbolic link PATH, "dev:PATH" binds one device node,
 *       "bind:SRC:DST" binds SRC read-only at DST, "proc" mounts a proc that shows only the viewer's own processes (hidepid=invisible),
 *       "host" starts from a read-only view of the whole host instead of an empty tmpfs,
 *       "hostname:NAME" names the UTS namespace. Prints "ready TMPDIR\n" (TMPDIR: an empty
 *       host directory the kernel removes) and waits for stdin to close; the kernel opens
 *       /proc/PID/ns/... in between, which keeps the namespaces alive after this exits.
 *
 *   bulkhead-jail exec UID KERNELPID DATABYTES NPROC FLAGS ARGV0 [ARG...]
 *       With the channel at fds 0-5 and the jail's descriptors at fixed numbers:
 *         1000 the component's executable   1001 socket to the kernel
 *         1002 the seccomp program (raw struct sock_filter array)
 *         1003-1006 mount, net, ipc and uts namespaces to join (-1 skips)
 *       joins the namespaces, sets the resource limits, becomes UID (gid UID, no groups, so
 *       no capabilities), sets PDEATHSIG and no_new_privs, loads the filter (FLAGS bit 0)
 *       with a user-notification listener that it hands to the kernel over fd 1001, and
 *       executes fd 1000. With FLAGS bit 2 (host programs such as recovery scripts, which
 *       start processes of their own) this process stays behind as a reaper: the program runs
 *       in a child, this exits with the child's status, and if the kernel dies first it kills
 *       the whole process group (the program's filter forbids leaving it). The jail's descriptors sit above RLIMIT_NOFILE, so once they are
 *       closed by the exec no component can ever hold those numbers again: the filter allows
 *       execveat only on fd 1000 and sendmsg only on fd 1001.
 *
 * Rules: no dynamic allocation after the filter is loaded; the only calls made after it are
 * sendmsg, close and execveat, which the filter allows; any failure before the exec ends this
 * process with status 127 and a message on stderr, and the kernel reports the spawn failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    EXEC_FD = 1000,
    CTL_FD = 1001,
    FILTER_FD = 1002,
    NS_MNT_FD = 1003,
    NS_NET_FD = 1004,
    NS_IPC_FD = 1005,
    NS_UTS_FD = 1006,
    NOFILE_LIMIT = 512,        /* below EXEC_FD: those numbers are out of a component's reach */
    MAX_FILTER = 4096,         /* BPF_MAXINSNS */
    FLAG_FILTER = 1,
    FLAG_NO_LISTENER = 2,      /* a filter whose refusals answer EPERM themselves (scripts) */
    FLAG_REAPER = 4,           /* stay as the parent: the process group dies with the kernel */
};

/* The filter's placeholder for the component's own pid (SeccompFilter.cs, SelfPid). */
#define SELF_PID_MARK 0x7FFFFF01u

static void die(const char *what)
{
    fprintf(stderr, "bulkhead-jail: %s: %s\n", what, strerror(errno));
    _exit(127);
}

static long number(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || end == s) {
        errno = EINVAL;
        die(what);
    }
    return v;
}

/* ---- prepare ---------------------------------------------------------------------------- */

static char root[64];

static void make_parents(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s%s", root, path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        die(path);
    }
    for (char *p = buf + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) die(buf);
        *p = '/';
    }
}

static void set_attr(const char *target, unsigned long long attrs)
{
    struct mount_attr attr = { .attr_set = attrs };
    if (syscall(SYS_mount_setattr, AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr) != 0)
        die(target);
}

/* Binds host PATH at TARGET inside the new root (TARGET = PATH when null). */
static void bind_path(const char *path, const char *target, unsigned long long attrs)
{
    char at[4096];
    struct stat st;
    if (stat(path, &st) != 0) return; /* not on this host: nothing to show */
    if (!target) target = path;
    make_parents(target);
    snprintf(at, sizeof at, "%s%s", root, target);
    if (S_ISDIR(st.st_mode)) {
        if (mkdir(at, 0755) != 0 && errno != EEXIST) die(at);
    } else {
        int fd = open(at, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) die(at);
        close(fd);
    }
    if (mount(path, at, NULL, MS_BIND | MS_REC, NULL) != 0) die(path);
    set_attr(at, attrs);
}

static void copy_link(const char *path)
{
    char target[4096], at[4096];
    ssize_t n = readlink(path, target, sizeof target - 1);
    if (n < 0) return;
    target[n] = '\0';
    make_parents(path);
    snprintf(at, sizeof at, "%s%s", root, path);
    if (symlink(target, at) != 0 && errno != EEXIST) die(at);
}

static int prepare(int argc, char **argv)
{
    int flags = 0;
    char list[64];
    snprintf(list, sizeof list, ",%s,", argv[2]);
    if (strstr(list, ",mnt,")) flags |= CLONE_NEWNS;
    if (strstr(list, ",net,")) flags |= CLONE_NEWNET;
    if (strstr(list, ",ipc,")) flags |= CLONE_NEWIPC;
    if (strstr(list, ",uts,")) flags |= CLONE_NEWUTS;
    if (unshare(flags) != 0) die("unshare");
    root[0] = '\0';
    if (flags & CLONE_NEWNS) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make / private");
        strcpy(root, "/tmp/bulkhead-root.XXXXXX");
        if (!mkdtemp(root)) die("mkdtemp");
        int host = 0;
        for (int i = 3; i < argc; i++) host |= strcmp(argv[i], "host") == 0;
        if (host) {
            if (mount("/", root, NULL, MS_BIND | MS_REC, NULL) != 0) die("bind /");
        } else if (mount("bulkhead", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") != 0) {
            die("tmpfs");
        }
        for (int i = 3; i < argc; i++) {
            const char *s = argv[i];
            if (strncmp(s, "ro:", 3) == 0) bind_path(s + 3, NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
            else if (strncmp(s, "bind:", 5) == 0) {
                char src[4096];
                snprintf(src, sizeof src, "%s", s + 5);
                char *dst = strchr(src, ':');
                if (!dst) {
                    errno = EINVAL;
                    die(s);
                }
                *dst++ = '\0';
                bind_path(src, dst, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
            }
            else if (strncmp(s, "link:", 5) == 0) copy_link(s + 5);
            else if (strncmp(s, "dev:", 4) == 0) bind_path(s + 4, NULL, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
            else if (strcmp(s, "dev") == 0) {
                char at[4096];
                snprintf(at, sizeof at, "%s/dev", root);
                if (mkdir(at, 0755) != 0 && errno != EEXIST) die(at);
                if (mount("bulkhead-dev", at, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=16k,mode=0755") != 0) die("dev tmpfs");
            } else if (strcmp(s, "proc") == 0) {
                char at[4096];
                snprintf(at, sizeof at, "%s/proc", root);
                if (mkdir(at, 0555) != 0 && errno != EEXIST) die(at);
                /* Read-only: nothing in /proc is a component's to write, not even its own memory. */
                if (mount("proc", at, "proc", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible") != 0) die("proc");
            }
        }
        if (host) set_attr(root, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        /* pivot_root(".", "."): the old root ends up under the new one and is detached at
         * once, so no directory for it is needed (the host view's root is read-only). */
        if (chdir(root) != 0) die(root);
        if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root");
        if (umount2(".", MNT_DETACH) != 0) die("detach old root");
        if (chdir("/") != 0) die("chdir /");
        if (!host && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
            die("read-only /");
    }
    for (int i = 3; i < argc; i++)
        if (strncmp(argv[i], "hostname:", 9) == 0 && (flags & CLONE_NEWUTS)) {
            const char *name = argv[i] + 9;
            if (sethostname(name, strlen(name)) != 0) die("sethostname");
        }
    printf("ready %s\n", root[0] ? root : "-");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {
    }
    return 0;
}

/* ---- exec ------------------------------------------------------------------------------- */

static void limit(int resource, rlim_t value, const char *what)
{
    struct rlimit r = { value, value };
    if (setrlimit(resource, &r) != 0) die(what);
}

static void join(int fd, int type, const char *what)
{
    if (fcntl(fd, F_GETFD) < 0) return; /* not given: stay where we are */
    if (setns(fd, type) != 0) die(what);
    close(fd);
}

static void kill_group(int sig)
{
    (void)sig;
    kill(0, SIGKILL); /* the whole group, this process last */
}

/* Forks: the child returns and becomes the program; this process waits for it and exits with
 * its status. The kernel's death (PDEATHSIG SIGTERM) takes the whole group down. */
static void reap(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kill_group;
    sigaction(SIGTERM, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0) die("PR_SET_PDEATHSIG");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("PR_SET_PDEATHSIG");
        return;
    }
    for (int fd = 0; fd < 6; fd++) close(fd);
    close(EXEC_FD);
    close(CTL_FD);
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) _exit(127);
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int exec_component(int argc, char **argv)
{
    if (argc < 8) {
        errno = EINVAL;
        die("usage: exec UID KERNELPID DATABYTES NPROC FLAGS ARGV0 [ARG...]");
    }
    /* Nothing the kernel's own parent leaked reaches the component: only 0-5 and the jail's. */
    syscall(SYS_close_range, 6, EXEC_FD - 1, 0);
    syscall(SYS_close_range, NS_UTS_FD + 1, ~0U, 0);
    uid_t uid = (uid_t)number(argv[2], "uid");
    pid_t kernel = (pid_t)number(argv[3], "kernel pid");
    long data = number(argv[4], "data limit");
    long nproc = number(argv[5], "nproc limit");
    long flags = number(argv[6], "flags");
    if (uid == 0) {
        errno = EPERM;
        die("refusing uid 0");
    }

    static struct sock_filter prog[MAX_FILTER];
    unsigned short count = 0;
    if (flags & FLAG_FILTER) {
        ssize_t n = pread(FILTER_FD, prog, sizeof prog, 0);
        if (n <= 0 || n % sizeof prog[0] != 0) die("read filter");
        count = (unsigned short)(n / sizeof prog[0]);
        pid_t self = getpid();
        for (unsigned i = 0; i < count; i++)
            if (prog[i].k == SELF_PID_MARK) prog[i].k = (unsigned)self;
    }
    close(FILTER_FD);

    join(NS_MNT_FD, CLONE_NEWNS, "join mount namespace");
    join(NS_NET_FD, CLONE_NEWNET, "join network namespace");
    join(NS_IPC_FD, CLONE_NEWIPC, "join ipc namespace");
    join(NS_UTS_FD, CLONE_NEWUTS, "join uts namespace");
    if (chdir("/") != 0) die("chdir /");

    limit(RLIMIT_NOFILE, NOFILE_LIMIT, "RLIMIT_NOFILE");
    limit(RLIMIT_NPROC, (rlim_t)nproc, "RLIMIT_NPROC");
    limit(RLIMIT_CORE, 0, "RLIMIT_CORE");
    limit(RLIMIT_MEMLOCK, 0, "RLIMIT_MEMLOCK");
    limit(RLIMIT_MSGQUEUE, 0, "RLIMIT_MSGQUEUE");
    limit(RLIMIT_RTPRIO, 0, "RLIMIT_RTPRIO");
    limit(RLIMIT_NICE, 0, "RLIMIT_NICE");
    limit(RLIMIT_SIGPENDING, 256, "RLIMIT_SIGPENDING");
    if (data > 0) limit(RLIMIT_DATA, (rlim_t)data, "RLIMIT_DATA");

    /* The identity last: after it nothing privileged is possible any more. */
    if (setgroups(0, NULL) != 0) die("setgroups");
    if (setresgid(uid, uid, uid) != 0) die("setresgid");
    if (setresuid(uid, uid, uid) != 0) die("setresuid");
    /* A uid change clears the parent-death signal: set it now, then make sure the kernel did
     * not die before it was armed. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("PR_SET_PDEATHSIG");
    if (getppid() != kernel) _exit(127);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("PR_SET_NO_NEW_PRIVS");
    /* The executable goes with the exec: no component ever holds fd 1000. */
    if (fcntl(EXEC_FD, F_SETFD, FD_CLOEXEC) != 0) die("executable descriptor");

    if (flags & FLAG_REAPER) reap();

    if (flags & FLAG_FILTER) {
        struct sock_fprog fprog = { .len = count, .filter = prog };
        if (flags & FLAG_NO_LISTENER) {
            if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) die("seccomp");
            goto run;
        }
        int listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
        if (listener < 0) die("seccomp");
        /* From here on only sendmsg(1001), close and execveat(1000) are made. */
        char cbuf[CMSG_SPACE(sizeof(int))];
        memset(cbuf, 0, sizeof cbuf);
        char byte = 'L';
        struct iovec iov = { &byte, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &listener, sizeof(int));
        if (sendmsg(CTL_FD, &msg, MSG_NOSIGNAL) != 1) _exit(127);
        close(listener);
    }
run:
    close(CTL_FD);
    extern char **environ;
    syscall(SYS_execveat, EXEC_FD, "", &argv[7], environ, AT_EMPTY_PATH);
    die("execveat");
    return 127;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "prepare") == 0) return prepare(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "exec") == 0) return exec_component(argc, argv);
    fprintf(stderr, "usage: bulkhead-jail prepare NAMESPACES SPEC... | exec UID KERNELPID DATABYTES NPROC FLAGS ARGV0 [ARG...]\n");
    return 2;
}
