/*
 * bulkhead-escape: a hostile component that tries to leave its host confinement
 * (src/Kernel/Host/Jail, docs/confinement.md). The kernel starts it like any component; it
 * then attacks the sandbox from inside and reports what happened. It decides nothing: the
 * test that starts it reads the report.
 *
 *   bulkhead-escape probes CANARY_FILE CANARY_PID PEER_PID
 *       Runs every probe once, in a fixed order, and prints one line per probe:
 *           probe NAME blocked DETAIL       the attempt failed (DETAIL starts with the errno
 *                                           name, or is a word such as none-visible)
 *           probe NAME ESCAPED DETAIL       the attempt worked
 *           probe NAME skipped-root DETAIL  not attempted because this process is privileged
 *                                           (euid 0 or any effective capability): only a few
 *                                           destructive probes do this, and a confined
 *                                           component is never privileged
 *       and finally "done NPROBES NESCAPED". Exit status 0 whatever escaped. CANARY_FILE is a
 *       host file that must stay invisible and intact, CANARY_PID a host process and PEER_PID
 *       another component (both must survive); the kernel is getppid(). The probes that can
 *       only work by replacing the process image (execve and friends) re-execute this program
 *       with the internal mode "resume", which prints their ESCAPED line and carries on with
 *       the next probe, so even then every probe gets its line.
 *
 *   bulkhead-escape fuzz SEED COUNT
 *       COUNT random system calls (xorshift64 from SEED; numbers 0..460, some x32-ABI ones,
 *       some above 1000 or negative, some with garbage in the upper half of rax) with random
 *       arguments, skipping (drawing again) the calls that could only kill, hang or blind the
 *       fuzzer itself (fuzz_skip). Prints "fuzz start ..." first, "fuzz progress I" every
 *       100000 calls and at the end:
 *           fuzz done COUNT eperm=N enosys=N other_err=N ok=N
 *                                               ok = successes outside the harmless set
 *                                               (fuzz_harmless: process-local calls)
 *           fuzz ok-calls NR:COUNT ...          every call that succeeded, harmless or not
 *           fuzz unexpected-ok-calls NR:COUNT . the ones counted in ok=
 *           fuzz hi-bits-ok-calls NR:COUNT ...  successes made with garbage in the upper half
 *                                               of rax (information: Linux and seccomp both
 *                                               use the low 32 bits, so they count as NR)
 *           fuzz errnos NAME:COUNT ...
 *           fuzz stray-signals SIG:COUNT ...    asynchronous signals that reached it (none expected)
 *       NR is a decimal x86_64 number, "x32+N" for the x32 ABI, or the raw number for numbers
 *       above 1000 and negative ones. COUNT = eperm + enosys + other_err + the counts of
 *       ok-calls. A clone or fork that succeeds is unexpected (the child exits at once). A
 *       watchdog thread interrupts a call blocked for 2 s with SIGUSR2 (it then fails with
 *       EINTR). Refuses to run privileged ("fuzz refused ...", exit 2). Otherwise exit 0.
 *
 *   bulkhead-escape hold
 *       Prints "ready" and sleeps forever (a canary or peer).
 *
 *   bulkhead-escape resume IDX NPRINTED NESCAPED SELF CANARY_FILE CANARY_PID PEER_PID
 *       Internal: how an exec probe that worked continues in the new image.
 *
 * Rules: every probe is its own function, prints exactly one line (flushed) and undoes what
 * it can (fds, mappings, threads, ptrace attachments, limits); probes that change the process
 * for good (new user namespace, being traced) and the two bombs run last. Nothing here may
 * harm the host when run unprivileged; the few probes that would as root refuse to.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- x86_64 numbers and constants older headers may lack ---------------------------- */
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_fsopen
#define SYS_fsopen 430
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define X32_BIT 0x40000000UL
#define GLIBC_THREAD_FLAGS 0x3d0f00UL /* VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID */
#define ARENA_FD 3
#define KPAGE_FD 4
#define JAIL_EXEC_FD 1000

/* ---- errno names --------------------------------------------------------------------- */

static const char *errname(int e)
{
    static char other[32];
    switch (e) {
#define E(x) case x: return #x;
    E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG) E(ENOEXEC) E(EBADF)
    E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT) E(ENOTBLK) E(EBUSY) E(EEXIST)
    E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ENFILE) E(EMFILE) E(ENOTTY)
    E(ETXTBSY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS) E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE)
    E(EDEADLK) E(ENAMETOOLONG) E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG)
    E(EIDRM) E(ENODATA) E(ETIME) E(ENOSR) E(ENOLINK) E(EPROTO) E(EBADMSG) E(EOVERFLOW)
    E(EBADFD) E(EILSEQ) E(EUSERS) E(ENOTSOCK) E(EDESTADDRREQ) E(EMSGSIZE) E(EPROTOTYPE)
    E(ENOPROTOOPT) E(EPROTONOSUPPORT) E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EPFNOSUPPORT)
    E(EAFNOSUPPORT) E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH) E(ECONNRESET)
    E(ENOBUFS) E(EISCONN) E(ENOTCONN) E(ETIMEDOUT) E(ECONNREFUSED) E(EHOSTUNREACH)
    E(EALREADY) E(EINPROGRESS) E(ESTALE) E(EDQUOT) E(ECANCELED) E(ENOKEY) E(EKEYEXPIRED)
    E(EKEYREVOKED) E(EKEYREJECTED) E(EOWNERDEAD) E(ENOTRECOVERABLE) E(ERFKILL) E(EHWPOISON)
    E(ENOMEDIUM) E(EMEDIUMTYPE) E(ENOTUNIQ) E(EREMOTEIO) E(ENOCSI) E(EUCLEAN)
#undef E
    default:
        snprintf(other, sizeof other, "errno%d", e);
        return other;
    }
}

/* ---- report ------------------------------------------------------------------------- */

static int g_nprinted, g_nescaped;

static void report(const char *name, const char *verdict, const char *fmt, va_list ap)
{
    char detail[600];
    vsnprintf(detail, sizeof detail, fmt, ap);
    for (char *p = detail; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    printf("probe %s %s %s\n", name, verdict, detail[0] ? detail : "-");
    fflush(stdout);
    g_nprinted++;
}

__attribute__((format(printf, 2, 3))) static void blocked(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(name, "blocked", fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void escaped(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(name, "ESCAPED", fmt, ap);
    va_end(ap);
    g_nescaped++;
}

__attribute__((format(printf, 2, 3))) static void skipped_root(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(name, "skipped-root", fmt, ap);
    va_end(ap);
}

/* blocked NAME ERRNO [at STEP] */
static void blocked_err(const char *name, int e, const char *step)
{
    if (step) blocked(name, "%s at %s", errname(e), step);
    else blocked(name, "%s", errname(e));
}

/* For calls made with harmless, deliberately invalid arguments after which the kernel checks
 * privilege first: EPERM/EACCES/ENOSYS mean refused; any other error means the privilege
 * check passed and only the dummy argument stopped the call. */
static void privcheck(const char *name, long r, int e)
{
    if (r >= 0) escaped(name, "call succeeded (returned %ld)", r);
    else if (e == EPERM || e == EACCES || e == ENOSYS) blocked_err(name, e, NULL);
    else escaped(name, "privilege check passed (%s from the harmless dummy arguments)", errname(e));
}

/* ---- context ------------------------------------------------------------------------ */

static const char *g_canary = "";
static pid_t g_canary_pid, g_peer_pid, g_kernel_pid;
static char g_self[PATH_MAX];
static int g_cur; /* index of the running probe (for resume after an exec) */

/* euid 0 or any effective capability (in any user namespace). Checked live: a probe that
 * escaped may have made this process privileged. */
static int privileged(void)
{
    if (geteuid() == 0) return 1;
    FILE *f = fopen("/proc/self/status", "re");
    if (!f) {
        struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
        struct { uint32_t effective, permitted, inheritable; } data[2];
        memset(data, 0, sizeof data);
        return syscall(SYS_capget, &hdr, data) == 0 && (data[0].effective | data[1].effective) != 0;
    }
    char line[256];
    int priv = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long caps;
        if (sscanf(line, "CapEff: %llx", &caps) == 1) {
            priv = caps != 0;
            break;
        }
    }
    fclose(f);
    return priv;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {
    }
}

static void tmp_name(char *out, size_t n, const char *dir, const char *what)
{
    snprintf(out, n, "%s/bulkhead-escape-%s-%d", strcmp(dir, "/") == 0 ? "" : dir, what, (int)getpid());
}

/* ---- shared probe helpers ------------------------------------------------------------ */

static void read_path(const char *name, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    if (n >= 0) escaped(name, "opened %s and read %zd bytes", path, n);
    else escaped(name, "opened %s (read: %s)", path, errname(e));
}

static void open_only(const char *name, const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    close(fd);
    escaped(name, "opened %s (flags 0x%x)", path, flags);
}

static void create_in(const char *name, const char *dir)
{
    char p[PATH_MAX];
    tmp_name(p, sizeof p, dir, "file");
    int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    close(fd);
    unlink(p);
    escaped(name, "created %s (removed again)", p);
}

static void mkdir_in(const char *name, const char *dir)
{
    char p[PATH_MAX];
    tmp_name(p, sizeof p, dir, "dir");
    if (mkdir(p, 0700) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    rmdir(p);
    escaped(name, "created directory %s (removed again)", p);
}

static void socket_probe(const char *name, int domain, int type, int proto)
{
    int fd = socket(domain, type | SOCK_CLOEXEC, proto);
    if (fd < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    close(fd);
    escaped(name, "socket(%d, %d, %d) = fd %d", domain, type, proto, fd);
}

static void kill_probe(const char *name, pid_t pid)
{
    if (privileged()) {
        skipped_root(name, "not sending SIGKILL to %d while privileged", (int)pid);
        return;
    }
    if (pid <= 0) { /* kill(0) would be its own process group */
        blocked(name, "no-target (pid %d)", (int)pid);
        return;
    }
    if (kill(pid, SIGKILL) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "SIGKILL delivered to %d", (int)pid);
}

static void ptrace_attach_probe(const char *name, pid_t pid)
{
    if (pid <= 0) {
        blocked(name, "no-target (pid %d)", (int)pid);
        return;
    }
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    escaped(name, "attached to %d (detached again)", (int)pid);
    for (int i = 0; i < 200; i++) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG | __WALL);
        if (w == pid || (w < 0 && errno != EINTR)) break;
        sleep_ms(10);
    }
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
}

static int open_pidfd(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* ---- file system ------------------------------------------------------------------- */

static void probe_read_etc_shadow(const char *name) { read_path(name, "/etc/shadow"); }
static void probe_read_etc_passwd(const char *name) { read_path(name, "/etc/passwd"); }
static void probe_read_canary(const char *name) { read_path(name, g_canary); }

static void probe_stat_canary(const char *name)
{
    struct stat st;
    if (stat(g_canary, &st) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "%s is visible (mode %o, uid %d)", g_canary, (unsigned)st.st_mode, (int)st.st_uid);
}

static void probe_write_canary(const char *name)
{
    int fd = open(g_canary, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    static const char mark[] = "bulkhead-escape: written by a confined component\n";
    ssize_t n = write(fd, mark, sizeof mark - 1);
    int e = errno;
    close(fd);
    if (n > 0) escaped(name, "opened for writing and appended %zd bytes", n);
    else escaped(name, "opened for writing (write: %s)", errname(e));
}

static void probe_truncate_canary(const char *name)
{
    if (truncate(g_canary, 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "truncated %s", g_canary);
}

static void probe_chmod_canary(const char *name)
{
    struct stat st;
    mode_t old = stat(g_canary, &st) == 0 ? (st.st_mode & 07777) : 0600;
    if (chmod(g_canary, 0666) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    chmod(g_canary, old);
    escaped(name, "chmod 0666 worked (mode %o restored)", (unsigned)old);
}

static void probe_chown_canary(const char *name)
{
    if (chown(g_canary, getuid(), getgid()) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "chown to %d:%d worked", (int)getuid(), (int)getgid());
}

static void probe_hardlink_canary(const char *name)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s.bulkhead-link-%d", g_canary, (int)getpid());
    if (link(g_canary, p) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    unlink(p);
    escaped(name, "hard link %s made (removed again)", p);
}

static void probe_rename_canary(const char *name)
{
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s.bulkhead-moved", g_canary);
    if (rename(g_canary, p) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    rename(p, g_canary);
    escaped(name, "renamed to %s (renamed back)", p);
}

static void probe_unlink_canary(const char *name)
{
    if (unlink(g_canary) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "unlinked %s", g_canary);
}

static void probe_create_file_root(const char *name) { create_in(name, "/"); }
static void probe_create_file_tmp(const char *name) { create_in(name, "/tmp"); }
static void probe_create_file_var_tmp(const char *name) { create_in(name, "/var/tmp"); }
static void probe_create_file_dev_shm(const char *name) { create_in(name, "/dev/shm"); }
static void probe_mkdir_root(const char *name) { mkdir_in(name, "/"); }
static void probe_mkdir_tmp(const char *name) { mkdir_in(name, "/tmp"); }

static void probe_symlink_tmp(const char *name)
{
    char p[PATH_MAX];
    tmp_name(p, sizeof p, "/tmp", "symlink");
    if (symlink("/etc/shadow", p) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    unlink(p);
    escaped(name, "symlink %s made (removed again)", p);
}

static void probe_mknod_dev_mem(const char *name)
{
    char p[PATH_MAX];
    tmp_name(p, sizeof p, "/tmp", "mem");
    if (mknod(p, S_IFCHR | 0600, makedev(1, 1)) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    unlink(p);
    escaped(name, "made character device 1,1 at %s (removed again)", p);
}

static void probe_write_self_exe(const char *name) { open_only(name, g_self, O_WRONLY); }

static void probe_chmod_self_exe(const char *name)
{
    struct stat st;
    if (stat(g_self, &st) != 0) {
        blocked_err(name, errno, "stat");
        return;
    }
    if (chmod(g_self, st.st_mode & 07777) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "chmod of %s worked (same mode)", g_self);
}

static void probe_chown_self_exe(const char *name)
{
    struct stat st;
    if (stat(g_self, &st) != 0) {
        blocked_err(name, errno, "stat");
        return;
    }
    if (chown(g_self, st.st_uid, st.st_gid) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "chown of %s worked (same owner)", g_self);
}

static void probe_open_dir_root(const char *name) { open_only(name, "/root", O_RDONLY | O_DIRECTORY); }
static void probe_open_dir_home(const char *name) { open_only(name, "/home", O_RDONLY | O_DIRECTORY); }

static void probe_proc_foreign_pids(const char *name)
{
    DIR *d = opendir("/proc");
    if (!d) {
        blocked_err(name, errno, NULL);
        return;
    }
    pid_t self = getpid();
    int n = 0;
    char seen[128] = "";
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end != '\0' || end == de->d_name || pid == self) continue;
        if (n < 8) {
            size_t l = strlen(seen);
            snprintf(seen + l, sizeof seen - l, "%s%ld", n ? "," : "", pid);
        }
        n++;
    }
    closedir(d);
    if (n == 0) blocked(name, "none-visible (only its own pid in /proc)");
    else escaped(name, "%d other processes visible in /proc (%s)", n, seen);
}

static void probe_proc_root_pid1(const char *name) { open_only(name, "/proc/1/root", O_RDONLY | O_DIRECTORY); }
static void probe_open_dev_mem(const char *name) { open_only(name, "/dev/mem", O_RDONLY); }
static void probe_open_dev_kmsg(const char *name) { open_only(name, "/dev/kmsg", O_RDONLY); }
static void probe_open_dev_tty(const char *name) { open_only(name, "/dev/tty", O_RDWR); }
static void probe_write_proc_sysrq(const char *name) { open_only(name, "/proc/sysrq-trigger", O_WRONLY); }
static void probe_write_proc_sys_hostname(const char *name) { open_only(name, "/proc/sys/kernel/hostname", O_WRONLY); }

static void probe_oom_score_adj_lower(const char *name)
{
    int fd = open("/proc/self/oom_score_adj", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        blocked_err(name, errno, "open");
        return;
    }
    char old[32] = "0";
    ssize_t n = read(fd, old, sizeof old - 1);
    old[n > 0 ? n : 1] = '\0';
    /* this proc file ignores the file position */
    if (write(fd, "-1000", 5) != 5) {
        int e = errno;
        close(fd);
        blocked_err(name, e, "write -1000");
        return;
    }
    ssize_t restored = write(fd, old, strlen(old));
    close(fd);
    (void)restored;
    escaped(name, "set its oom_score_adj to -1000 (unkillable by the OOM killer; restored)");
}

static void probe_open_by_handle_at(const char *name)
{
    struct {
        unsigned int handle_bytes;
        int handle_type;
        unsigned char f_handle[64];
    } h;
    memset(&h, 0, sizeof h);
    h.handle_bytes = 8;
    h.handle_type = 1;
    errno = 0;
    long r = syscall(SYS_open_by_handle_at, AT_FDCWD, &h, O_RDONLY | O_CLOEXEC);
    int e = errno;
    if (r >= 0) close((int)r);
    privcheck(name, r, e);
}

/* ---- sockets ------------------------------------------------------------------------ */

static void probe_socket_inet(const char *name) { socket_probe(name, AF_INET, SOCK_STREAM, 0); }
static void probe_socket_inet6(const char *name) { socket_probe(name, AF_INET6, SOCK_DGRAM, 0); }
static void probe_socket_unix(const char *name) { socket_probe(name, AF_UNIX, SOCK_STREAM, 0); }
static void probe_socket_netlink(const char *name) { socket_probe(name, AF_NETLINK, SOCK_RAW, 0 /* NETLINK_ROUTE */); }
static void probe_socket_packet(const char *name) { socket_probe(name, AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */); }
static void probe_socket_inet_raw(const char *name) { socket_probe(name, AF_INET, SOCK_RAW, 1 /* ICMP */); }

static void probe_socketpair_unix(const char *name)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    close(sv[0]);
    close(sv[1]);
    escaped(name, "socketpair(AF_UNIX) worked");
}

static void probe_x32_socket(const char *name)
{
    errno = 0;
    long r = syscall((long)(X32_BIT | SYS_socket), AF_UNIX, SOCK_STREAM, 0);
    if (r < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    close((int)r);
    escaped(name, "x32-ABI socket() returned fd %ld", r);
}

static sigjmp_buf g_fault_jmp;
static volatile sig_atomic_t g_fault_sig;
static void on_fault(int sig)
{
    g_fault_sig = sig;
    siglongjmp(g_fault_jmp, 1);
}

static void probe_i386_int80_socket(const char *name)
{
    struct sigaction sa, old_segv, old_ill, old_bus;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGILL, &sa, &old_ill);
    sigaction(SIGBUS, &sa, &old_bus);
    static volatile long ret;
    static volatile int faulted;
    ret = -ENOSYS;
    faulted = 0;
    g_fault_sig = 0;
    if (sigsetjmp(g_fault_jmp, 1) != 0) {
        faulted = g_fault_sig ? g_fault_sig : -1;
    } else {
        long r;
        /* i386 socket(AF_UNIX, SOCK_STREAM, 0) = 359; the compat entry zeroes r8-r15 */
        __asm__ volatile("int $0x80"
                         : "=a"(r)
                         : "0"(359L), "b"(1L), "c"(1L), "d"(0L)
                         : "memory", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
        ret = r;
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGILL, &old_ill, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
    if (faulted) blocked(name, "int-0x80-faulted (signal %d: no 32-bit emulation)", faulted);
    else if (ret < 0 && ret > -4096) blocked_err(name, (int)-ret, NULL);
    else {
        close((int)ret);
        escaped(name, "i386-ABI socket() returned fd %ld", ret);
    }
}

/* ---- memory ------------------------------------------------------------------------ */

static void probe_mmap_rwx_anon(const char *name)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        blocked_err(name, errno, NULL);
        return;
    }
    munmap(p, 4096);
    escaped(name, "anonymous writable+executable page mapped");
}

static void probe_mprotect_rwx(const char *name)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        blocked_err(name, errno, "mmap");
        return;
    }
    int r = mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
    int e = errno;
    munmap(p, 4096);
    if (r != 0) blocked_err(name, e, NULL);
    else escaped(name, "read-write page made writable+executable");
}

static void probe_mmap_shared_anon(const char *name)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        blocked_err(name, errno, NULL);
        return;
    }
    munmap(p, 4096);
    escaped(name, "shared anonymous memory mapped (not counted by RLIMIT_DATA)");
}

static void map_fd_probe(const char *name, int fd, int prot, int flags, const char *what)
{
    void *p = mmap(NULL, 4096, prot, flags, fd, 0);
    if (p == MAP_FAILED) {
        blocked_err(name, errno, NULL);
        return;
    }
    munmap(p, 4096);
    escaped(name, "%s", what);
}

static void probe_mmap_arena_exec(const char *name)
{
    map_fd_probe(name, ARENA_FD, PROT_READ | PROT_EXEC, MAP_SHARED, "arena (fd 3) mapped shared and executable");
}

static void probe_mmap_arena_exec_private(const char *name)
{
    map_fd_probe(name, ARENA_FD, PROT_READ | PROT_EXEC, MAP_PRIVATE,
                 "arena (fd 3) mapped private and executable: code written through the shared writable view runs (W^X bypass)");
}

static void probe_mmap_arena_rwx(const char *name)
{
    map_fd_probe(name, ARENA_FD, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, "arena (fd 3) mapped writable+executable");
}

static void probe_mprotect_arena_exec(const char *name)
{
    void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ARENA_FD, 0);
    if (p == MAP_FAILED) {
        blocked_err(name, errno, "mmap");
        return;
    }
    int r = mprotect(p, 4096, PROT_READ | PROT_EXEC);
    int e = errno;
    munmap(p, 4096);
    if (r != 0) blocked_err(name, e, NULL);
    else escaped(name, "shared arena mapping (fd 3) made executable: a second, writable view makes W^X moot");
}

static void probe_ftruncate_arena(const char *name)
{
    struct stat st;
    if (fstat(ARENA_FD, &st) != 0) {
        blocked_err(name, errno, "fstat");
        return;
    }
    if (ftruncate(ARENA_FD, st.st_size) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "could resize the shared arena (same size %lld used; shrinking it would fault the kernel)", (long long)st.st_size);
}

static void probe_reopen_kernel_page_rdwr(const char *name)
{
    int fd = open("/proc/self/fd/4", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) {
        blocked(name, "%s at mmap (reopened fd 4 O_RDWR, but a writable mapping was refused)", errname(e));
        return;
    }
    munmap(p, 4096);
    escaped(name, "reopened the read-only kernel page read-write and mapped it writable");
}

static void probe_mmap_kernel_page_write(const char *name)
{
    map_fd_probe(name, KPAGE_FD, PROT_READ | PROT_WRITE, MAP_SHARED, "kernel page (fd 4) mapped shared and writable");
}

static void probe_mprotect_kernel_page_write(const char *name)
{
    void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, KPAGE_FD, 0);
    if (p == MAP_FAILED) {
        blocked_err(name, errno, "mmap");
        return;
    }
    int r = mprotect(p, 4096, PROT_READ | PROT_WRITE);
    int e = errno;
    munmap(p, 4096);
    if (r != 0) blocked_err(name, e, NULL);
    else escaped(name, "kernel page mapping (fd 4) made writable");
}

static void probe_fchmod_kernel_page(const char *name)
{
    struct stat st;
    if (fstat(KPAGE_FD, &st) != 0) {
        blocked_err(name, errno, "fstat");
        return;
    }
    if (fchmod(KPAGE_FD, 0666) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    fchmod(KPAGE_FD, st.st_mode & 07777);
    escaped(name, "changed the kernel page's mode (restored)");
}

static void probe_ftruncate_kernel_page(const char *name)
{
    struct stat st;
    if (fstat(KPAGE_FD, &st) != 0) {
        blocked_err(name, errno, "fstat");
        return;
    }
    if (ftruncate(KPAGE_FD, st.st_size) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "could resize the kernel page (same size used)");
}

/* A function whose code the next probe rewrites with its own bytes. */
__attribute__((noinline)) static int text_target(int x) { return x * 3 + 1; }

static void probe_proc_self_mem_write_text(const char *name)
{
    int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        blocked_err(name, errno, "open");
        return;
    }
    off_t at = (off_t)(uintptr_t)&text_target;
    unsigned char code[16];
    if (lseek(fd, at, SEEK_SET) != at || read(fd, code, sizeof code) != (ssize_t)sizeof code) {
        int e = errno;
        close(fd);
        blocked_err(name, e, "read own code");
        return;
    }
    ssize_t n = -1;
    int e = 0;
    if (lseek(fd, at, SEEK_SET) == at) {
        n = write(fd, code, sizeof code);
        e = errno;
    } else {
        e = errno;
    }
    close(fd);
    if (n == (ssize_t)sizeof code)
        escaped(name, "wrote over its own read-only code through /proc/self/mem (same bytes; W^X bypass)");
    else
        blocked_err(name, e, "write");
}

static void probe_personality_read_implies_exec(const char *name)
{
    int old = personality(0xffffffff);
    int queried = old >= 0;
    if (!queried) old = PER_LINUX;
    if (personality((unsigned long)old | READ_IMPLIES_EXEC) < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    int now = personality(0xffffffff);
    personality((unsigned long)old);
    if (now >= 0 && !(now & READ_IMPLIES_EXEC)) blocked(name, "flag-not-kept");
    else escaped(name, "READ_IMPLIES_EXEC set (readable mappings become executable; restored)");
}

/* ---- process creation -------------------------------------------------------------- */

static int child_noop(void *arg)
{
    (void)arg;
    return 0;
}

static char g_child_stack[64 * 1024] __attribute__((aligned(16)));

static void probe_fork(const char *name)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    reap(pid);
    escaped(name, "fork() made process %d", (int)pid);
}

static pid_t do_vfork(void)
{
    pid_t pid = vfork();
    if (pid == 0) _exit(0);
    return pid;
}

static void probe_vfork(const char *name)
{
    fflush(stdout);
    pid_t pid = do_vfork();
    if (pid < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    reap(pid);
    escaped(name, "vfork() made process %d", (int)pid);
}

static void raw_clone_probe(const char *name, unsigned long flags, const char *what)
{
    fflush(stdout);
    long pid = syscall(SYS_clone, flags, 0L, NULL, NULL, 0L);
    if (pid == 0) _exit(0);
    if (pid < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    reap((pid_t)pid);
    escaped(name, "%s made process %ld", what, pid);
}

static void probe_clone_process(const char *name) { raw_clone_probe(name, SIGCHLD, "clone(SIGCHLD)"); }
static void probe_clone_newuser(const char *name) { raw_clone_probe(name, CLONE_NEWUSER | SIGCHLD, "clone(CLONE_NEWUSER)"); }

static void probe_clone_vm_process(const char *name)
{
    fflush(stdout);
    int pid = clone(child_noop, g_child_stack + sizeof g_child_stack, CLONE_VM | SIGCHLD, NULL);
    if (pid < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    reap(pid);
    escaped(name, "clone(CLONE_VM|SIGCHLD) made process %d", pid);
}

static volatile pid_t g_thread_tid;

static void probe_clone_thread_newnet(const char *name)
{
    void *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    g_thread_tid = 0;
    int r = clone(child_noop, g_child_stack + sizeof g_child_stack, (int)(GLIBC_THREAD_FLAGS | CLONE_NEWNET), NULL,
                  (pid_t *)&g_thread_tid, tp, (pid_t *)&g_thread_tid);
    if (r < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    for (int i = 0; i < 2000 && g_thread_tid != 0; i++) sleep_ms(1);
    escaped(name, "thread %d started in a new network namespace (glibc's thread flags + CLONE_NEWNET)", r);
}

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static void probe_clone3(const char *name)
{
    struct clone_args_v0 ca;
    memset(&ca, 0, sizeof ca);
    ca.exit_signal = SIGCHLD;
    fflush(stdout);
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) _exit(0);
    if (pid < 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    reap((pid_t)pid);
    escaped(name, "clone3 made process %ld", pid);
}

/* ---- exec: a successful exec resumes the probe list in the new image --------------- */

static char g_rs_idx[16], g_rs_np[16], g_rs_ne[16], g_rs_cpid[16], g_rs_peer[16];

static void resume_args(void)
{
    snprintf(g_rs_idx, sizeof g_rs_idx, "%d", g_cur);
    snprintf(g_rs_np, sizeof g_rs_np, "%d", g_nprinted);
    snprintf(g_rs_ne, sizeof g_rs_ne, "%d", g_nescaped);
    snprintf(g_rs_cpid, sizeof g_rs_cpid, "%d", (int)g_canary_pid);
    snprintf(g_rs_peer, sizeof g_rs_peer, "%d", (int)g_peer_pid);
    fflush(stdout);
}

#define RESUME_ARGV(argv0) \
    { (char *)(argv0), (char *)"resume", g_rs_idx, g_rs_np, g_rs_ne, g_self, (char *)g_canary, g_rs_cpid, g_rs_peer, NULL }

static void probe_execve_self(const char *name)
{
    resume_args();
    char *argv[] = RESUME_ARGV("bulkhead-escape");
    execve("/proc/self/exe", argv, environ);
    blocked_err(name, errno, NULL);
}

static void probe_execve_sh(const char *name)
{
    resume_args();
    char *argv[] = { (char *)"sh", (char *)"-c", (char *)"exec \"$0\" \"$@\"", g_self, (char *)"resume", g_rs_idx,
                     g_rs_np, g_rs_ne, g_self, (char *)g_canary, g_rs_cpid, g_rs_peer, NULL };
    execve("/bin/sh", argv, environ);
    blocked_err(name, errno, NULL);
}

static void probe_execveat_fd1000(const char *name)
{
    /* The jail's filter lets execveat run fd 1000 only; RLIMIT_NOFILE must keep that number
     * out of reach. Try to get it, then try the call. */
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    int got = fd >= 0 ? fcntl(fd, F_DUPFD, JAIL_EXEC_FD) : -1;
    int dup_err = errno;
    if (got >= 0 && got != JAIL_EXEC_FD) {
        close(got);
        got = -1;
        dup_err = EBUSY;
    }
    resume_args();
    char *argv[] = RESUME_ARGV("bulkhead-escape");
    syscall(SYS_execveat, JAIL_EXEC_FD, "", argv, environ, AT_EMPTY_PATH);
    int e = errno;
    if (got >= 0) close(got);
    if (fd >= 0) close(fd);
    if (got == JAIL_EXEC_FD) escaped(name, "obtained fd 1000 (execveat then failed: %s)", errname(e));
    else blocked(name, "%s (fd 1000 unobtainable: %s)", errname(e), fd >= 0 ? errname(dup_err) : "open failed");
}

static void probe_memfd_exec(const char *name)
{
    int mfd = (int)syscall(SYS_memfd_create, "bulkhead-escape", 1 /* MFD_CLOEXEC */);
    if (mfd < 0) {
        blocked_err(name, errno, "memfd_create");
        return;
    }
    int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (src < 0) {
        int e = errno;
        close(mfd);
        blocked_err(name, e, "open /proc/self/exe");
        return;
    }
    static char buf[65536];
    ssize_t n;
    int e = 0;
    while ((n = read(src, buf, sizeof buf)) > 0) {
        if (write(mfd, buf, (size_t)n) != n) {
            e = errno ? errno : EIO;
            break;
        }
    }
    if (n < 0) e = errno;
    close(src);
    if (e) {
        close(mfd);
        blocked_err(name, e, "copy into memfd");
        return;
    }
    resume_args();
    char *argv[] = RESUME_ARGV("bulkhead-escape");
    syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
    e = errno;
    close(mfd);
    blocked_err(name, e, "execveat");
}

/* ---- kernel facilities ------------------------------------------------------------- */

static void fd_result(const char *name, long r, int e, const char *what)
{
    if (r < 0) {
        blocked_err(name, e, NULL);
        return;
    }
    close((int)r);
    escaped(name, "%s (fd %ld)", what, r);
}

static void probe_io_uring_setup(const char *name)
{
    unsigned char params[120];
    memset(params, 0, sizeof params);
    long r = syscall(SYS_io_uring_setup, 4, params);
    fd_result(name, r, errno, "io_uring instance created (its operations bypass seccomp)");
}

static void probe_perf_event_open(const char *name)
{
    unsigned char attr[128];
    memset(attr, 0, sizeof attr);
    uint32_t type = 1 /* PERF_TYPE_SOFTWARE */, size = 64 /* PERF_ATTR_SIZE_VER0 */;
    uint64_t config = 0 /* PERF_COUNT_SW_CPU_CLOCK */, bits = 1 | (1 << 5) | (1 << 6); /* disabled, exclude_kernel, exclude_hv */
    memcpy(attr + 0, &type, 4);
    memcpy(attr + 4, &size, 4);
    memcpy(attr + 8, &config, 8);
    memcpy(attr + 40, &bits, 8);
    long r = syscall(SYS_perf_event_open, attr, 0, -1, -1, 0UL);
    fd_result(name, r, errno, "perf event opened");
}

static void probe_bpf_prog_load(const char *name)
{
    uint64_t insns[2] = { 0x00000000000000b7ULL /* r0 = 0 */, 0x0000000000000095ULL /* exit */ };
    static const char license[] = "GPL";
    unsigned char attr[128];
    memset(attr, 0, sizeof attr);
    uint32_t type = 1 /* BPF_PROG_TYPE_SOCKET_FILTER */, cnt = 2;
    uint64_t pi = (uint64_t)(uintptr_t)insns, pl = (uint64_t)(uintptr_t)license;
    memcpy(attr + 0, &type, 4);
    memcpy(attr + 4, &cnt, 4);
    memcpy(attr + 8, &pi, 8);
    memcpy(attr + 16, &pl, 8);
    long r = syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, attr, sizeof attr);
    fd_result(name, r, errno, "BPF program loaded");
}

static void probe_bpf_map_create(const char *name)
{
    unsigned char attr[128];
    memset(attr, 0, sizeof attr);
    uint32_t v[4] = { 2 /* BPF_MAP_TYPE_ARRAY */, 4, 4, 1 };
    memcpy(attr, v, sizeof v);
    long r = syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr);
    fd_result(name, r, errno, "BPF map created");
}

static void probe_add_key(const char *name)
{
    long r = syscall(SYS_add_key, "user", "bulkhead-escape", "x", 1UL, -2 /* KEY_SPEC_PROCESS_KEYRING */);
    if (r < 0) blocked_err(name, errno, NULL);
    else escaped(name, "key %ld added to the process keyring", r);
}

static void probe_keyctl_user_keyring(const char *name)
{
    long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* KEY_SPEC_USER_KEYRING */, 0);
    if (r < 0) blocked_err(name, errno, NULL);
    else escaped(name, "keyctl works (user keyring %ld)", r);
}

static void probe_userfaultfd(const char *name)
{
    long r = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* UFFD_USER_MODE_ONLY */);
    if (r < 0 && errno == EINVAL) r = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    fd_result(name, r, errno, "userfaultfd created");
}

static void probe_fanotify_init(const char *name)
{
    long r = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC, O_RDONLY);
    fd_result(name, r, errno, "fanotify group created");
}

static void probe_syslog_read_all(const char *name)
{
    static char buf[4096];
    int r = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, sizeof buf);
    if (r < 0) blocked_err(name, errno, NULL);
    else escaped(name, "read %d bytes of the kernel log", r);
}

static void probe_ioctl_tiocsti(const char *name)
{
    char c = '\0';
    if (ioctl(1, TIOCSTI, &c) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "pushed a byte into the input of the terminal on fd 1");
}

static void probe_iopl(const char *name)
{
    if (syscall(SYS_iopl, 3) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    syscall(SYS_iopl, 0);
    escaped(name, "iopl(3) granted (dropped again)");
}

static void probe_ioperm(const char *name)
{
    if (syscall(SYS_ioperm, 0x80UL, 1UL, 1) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    syscall(SYS_ioperm, 0x80UL, 1UL, 0);
    escaped(name, "ioperm(0x80) granted (dropped again)");
}

static void probe_kexec_load(const char *name)
{
    errno = 0;
    long r = syscall(SYS_kexec_load, 0UL, 17UL /* > KEXEC_SEGMENT_MAX */, NULL, 0UL);
    privcheck(name, r, errno);
}

static void probe_kexec_file_load(const char *name)
{
    errno = 0;
    long r = syscall(SYS_kexec_file_load, -1, -1, 0UL, "", 0UL);
    privcheck(name, r, errno);
}

static void probe_init_module(const char *name)
{
    errno = 0;
    long r = syscall(SYS_init_module, NULL, 0UL, "");
    privcheck(name, r, errno);
}

static void probe_finit_module(const char *name)
{
    errno = 0;
    long r = syscall(SYS_finit_module, -1, "", 0);
    privcheck(name, r, errno);
}

static void probe_delete_module(const char *name)
{
    errno = 0;
    long r = syscall(SYS_delete_module, "bulkhead_escape_no_such_module", O_NONBLOCK);
    privcheck(name, r, errno);
}

static void probe_swapon(const char *name)
{
    errno = 0;
    long r = syscall(SYS_swapon, "/nonexistent-bulkhead-escape-swap", 0);
    privcheck(name, r, errno);
}

static void probe_swapoff(const char *name)
{
    errno = 0;
    long r = syscall(SYS_swapoff, "/nonexistent-bulkhead-escape-swap");
    privcheck(name, r, errno);
}

static void probe_acct(const char *name)
{
    errno = 0;
    long r = syscall(SYS_acct, "/nonexistent-bulkhead-escape-acct");
    privcheck(name, r, errno);
}

static void probe_settimeofday(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not setting the host clock while privileged");
        return;
    }
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (settimeofday(&tv, NULL) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "settimeofday worked (set to the current time)");
}

static void probe_clock_settime(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not setting the host clock while privileged");
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (clock_settime(CLOCK_REALTIME, &ts) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "clock_settime worked (set to the current time)");
}

static void probe_sethostname(const char *name)
{
    struct utsname u;
    if (uname(&u) != 0) strcpy(u.nodename, "bulkhead");
    if (sethostname(u.nodename, strlen(u.nodename)) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "sethostname worked (same name)");
}

static void probe_setdomainname(const char *name)
{
    struct utsname u;
    if (uname(&u) != 0) strcpy(u.domainname, "(none)");
    if (setdomainname(u.domainname, strlen(u.domainname)) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "setdomainname worked (same name)");
}

static void probe_reboot(const char *name)
{
    if (geteuid() == 0 || privileged()) {
        skipped_root(name, "never calls reboot while privileged");
        return;
    }
    long r = syscall(SYS_reboot, 0xfee1deadUL, 672274793UL, 0x01234567UL /* LINUX_REBOOT_CMD_RESTART */, NULL);
    if (r != 0) blocked_err(name, errno, NULL);
    else escaped(name, "reboot returned success");
}

static void probe_setuid_root(const char *name)
{
    if (syscall(SYS_setuid, 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "setuid(0) worked (uid now %d)", (int)getuid());
}

static void probe_setresuid_root(const char *name)
{
    if (syscall(SYS_setresuid, 0, 0, 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "setresuid(0,0,0) worked");
}

static void probe_setgid_root(const char *name)
{
    if (syscall(SYS_setgid, 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "setgid(0) worked");
}

static void probe_setgroups_root(const char *name)
{
    gid_t g = 0;
    if (syscall(SYS_setgroups, 1, &g) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "setgroups({0}) worked");
}

static void probe_capset_all(const char *name)
{
    struct { uint32_t version; int pid; } hdr = { 0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0 };
    struct { uint32_t effective, permitted, inheritable; } data[2];
    memset(data, 0, sizeof data);
    syscall(SYS_capget, &hdr, data);
    hdr.version = 0x20080522;
    hdr.pid = 0;
    for (int i = 0; i < 2; i++) data[i].effective = data[i].permitted = data[i].inheritable = 0xffffffffu;
    if (syscall(SYS_capset, &hdr, data) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "capset granted every capability");
}

static void probe_cap_ambient_raise(const char *name)
{
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, 21 /* CAP_SYS_ADMIN */, 0, 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "raised CAP_SYS_ADMIN into the ambient set");
}

static void probe_seccomp_disable(const char *name)
{
    if (prctl(PR_SET_SECCOMP, 0 /* SECCOMP_MODE_DISABLED */, 0, 0, 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "prctl(PR_SET_SECCOMP, disabled) returned success");
}

static void probe_prctl_set_mm_exe(const char *name)
{
    errno = 0;
    long r = prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, 0xffffffffUL, 0, 0);
    privcheck(name, r, errno);
}

/* ---- mounts and namespaces --------------------------------------------------------- */

static void probe_mount_tmpfs(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not mounting over /tmp while privileged");
        return;
    }
    if (mount("bulkhead-escape", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m") != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    umount2("/tmp", MNT_DETACH);
    escaped(name, "mounted a tmpfs on /tmp (detached again)");
}

static void probe_umount_proc(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not unmounting /proc while privileged");
        return;
    }
    if (umount2("/proc", 0) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "unmounted /proc");
}

static void probe_fsopen_tmpfs(const char *name)
{
    long r = syscall(SYS_fsopen, "tmpfs", 1 /* FSOPEN_CLOEXEC */);
    fd_result(name, r, errno, "fsopen(tmpfs) gave a file-system context");
}

static void probe_open_tree_clone(const char *name)
{
    long r = syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
    fd_result(name, r, errno, "open_tree(/, OPEN_TREE_CLONE) gave a detached mount");
}

static void probe_pivot_root(const char *name)
{
    errno = 0;
    long r = syscall(SYS_pivot_root, "/nonexistent-bulkhead-escape-a", "/nonexistent-bulkhead-escape-b");
    privcheck(name, r, errno);
}

static void probe_chroot(const char *name)
{
    if (chroot("/") != 0) blocked_err(name, errno, NULL);
    else escaped(name, "chroot(\"/\") worked");
}

static void probe_unshare_newns(const char *name)
{
    if (unshare(CLONE_NEWNS) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "unshare(CLONE_NEWNS) worked");
}

static void probe_unshare_newnet(const char *name)
{
    if (unshare(CLONE_NEWNET) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "unshare(CLONE_NEWNET) worked");
}

static void setns_probe(const char *name, int fd, const char *how)
{
    int mine = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (setns(fd, CLONE_NEWNET) != 0) {
        int e = errno;
        if (mine >= 0) close(mine);
        blocked_err(name, e, NULL);
        return;
    }
    if (mine >= 0) {
        setns(mine, CLONE_NEWNET);
        close(mine);
    }
    escaped(name, "joined the kernel's network namespace through %s", how);
}

static void probe_setns_kernel_net(const char *name)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/net", (int)g_kernel_pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        blocked_err(name, errno, "open");
        return;
    }
    setns_probe(name, fd, p);
    close(fd);
}

static void probe_setns_pidfd_kernel(const char *name)
{
    int fd = open_pidfd(g_kernel_pid);
    if (fd < 0) {
        blocked_err(name, errno, "pidfd_open");
        return;
    }
    setns_probe(name, fd, "a pidfd");
    close(fd);
}

/* ---- limits and scheduling --------------------------------------------------------- */

static void raise_limit(const char *name, int res, const char *what)
{
    struct rlimit cur;
    if (getrlimit(res, &cur) != 0) {
        blocked_err(name, errno, "getrlimit");
        return;
    }
    if (cur.rlim_max == RLIM_INFINITY) {
        escaped(name, "%s hard limit is unlimited", what);
        return;
    }
    struct rlimit want = { cur.rlim_max * 2 + 16, cur.rlim_max * 2 + 16 };
    if (setrlimit(res, &want) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    setrlimit(res, &cur);
    escaped(name, "raised the %s hard limit from %llu to %llu (restored)", what, (unsigned long long)cur.rlim_max,
            (unsigned long long)want.rlim_max);
}

static void probe_setrlimit_nofile(const char *name) { raise_limit(name, RLIMIT_NOFILE, "RLIMIT_NOFILE"); }
static void probe_setrlimit_nproc(const char *name) { raise_limit(name, RLIMIT_NPROC, "RLIMIT_NPROC"); }
static void probe_setrlimit_data(const char *name) { raise_limit(name, RLIMIT_DATA, "RLIMIT_DATA"); }
static void probe_setrlimit_core(const char *name) { raise_limit(name, RLIMIT_CORE, "RLIMIT_CORE"); }

static void probe_prlimit_kernel(const char *name)
{
    struct rlimit old;
    if (prlimit(g_kernel_pid, RLIMIT_NOFILE, NULL, &old) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "read the kernel's RLIMIT_NOFILE (%llu)", (unsigned long long)old.rlim_cur);
}

static void probe_setpriority_raise(const char *name)
{
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, 0);
    if (errno != 0) cur = 0;
    int want = cur > -20 ? cur - 1 : -20;
    if (setpriority(PRIO_PROCESS, 0, want) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    setpriority(PRIO_PROCESS, 0, cur);
    escaped(name, "raised its priority to nice %d (restored)", want);
}

static void probe_sched_fifo(const char *name)
{
    struct sched_param sp = { .sched_priority = 1 };
    if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    sp.sched_priority = 0;
    sched_setscheduler(0, SCHED_OTHER, &sp);
    escaped(name, "became a real-time SCHED_FIFO task (restored)");
}

static void probe_ioprio_rt(const char *name)
{
    long old = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0);
    if (syscall(SYS_ioprio_set, 1, 0, (1 << 13) | 4 /* IOPRIO_CLASS_RT, level 4 */) != 0) {
        blocked_err(name, errno, NULL);
        return;
    }
    syscall(SYS_ioprio_set, 1, 0, old >= 0 ? old : 0);
    escaped(name, "got real-time I/O priority (restored)");
}

static void probe_setpriority_kernel(const char *name)
{
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, (id_t)g_kernel_pid);
    if (errno != 0) {
        blocked_err(name, errno, "getpriority");
        return;
    }
    if (setpriority(PRIO_PROCESS, (id_t)g_kernel_pid, cur) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "set the kernel's nice value (same value %d)", cur);
}

static void probe_sched_setaffinity_kernel(const char *name)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(g_kernel_pid, sizeof set, &set) != 0) {
        blocked_err(name, errno, "sched_getaffinity");
        return;
    }
    if (sched_setaffinity(g_kernel_pid, sizeof set, &set) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "set the kernel's CPU affinity (same mask)");
}

/* ---- other processes --------------------------------------------------------------- */

static void probe_ptrace_attach_kernel(const char *name) { ptrace_attach_probe(name, g_kernel_pid); }
static void probe_ptrace_attach_peer(const char *name) { ptrace_attach_probe(name, g_peer_pid); }
static void probe_ptrace_attach_canary(const char *name) { ptrace_attach_probe(name, g_canary_pid); }

static void process_vm_probe(const char *name, int write)
{
    char local[16] = "bulkhead-escape";
    struct iovec l = { local, 8 }, r = { (void *)0x1000, 8 }; /* never mapped: nothing is written */
    ssize_t n = write ? process_vm_writev(g_kernel_pid, &l, 1, &r, 1, 0) : process_vm_readv(g_kernel_pid, &l, 1, &r, 1, 0);
    if (n >= 0) escaped(name, "transferred %zd bytes", n);
    else if (errno == EFAULT) escaped(name, "access granted (EFAULT only because the address 0x1000 is unmapped)");
    else blocked_err(name, errno, NULL);
}

static void probe_process_vm_readv_kernel(const char *name) { process_vm_probe(name, 0); }
static void probe_process_vm_writev_kernel(const char *name) { process_vm_probe(name, 1); }

static void proc_path(char *out, size_t n, pid_t pid, const char *what)
{
    snprintf(out, n, "/proc/%d/%s", (int)pid, what);
}

static void probe_proc_mem_read_kernel(const char *name)
{
    char p[64];
    proc_path(p, sizeof p, g_kernel_pid, "mem");
    read_path(name, p);
}

static void probe_proc_mem_write_kernel(const char *name)
{
    char p[64];
    proc_path(p, sizeof p, g_kernel_pid, "mem");
    open_only(name, p, O_RDWR);
}

static void probe_proc_environ_kernel(const char *name)
{
    char p[64];
    proc_path(p, sizeof p, g_kernel_pid, "environ");
    read_path(name, p);
}

static void probe_proc_root_kernel(const char *name)
{
    char p[64];
    proc_path(p, sizeof p, g_kernel_pid, "root/");
    open_only(name, p, O_RDONLY | O_DIRECTORY);
}

static void probe_proc_mem_peer(const char *name)
{
    char p[64];
    proc_path(p, sizeof p, g_peer_pid, "mem");
    open_only(name, p, O_RDONLY);
}

static void probe_kcmp_kernel(const char *name)
{
    long r = syscall(SYS_kcmp, g_kernel_pid, getpid(), 1 /* KCMP_VM */, 0UL, 0UL);
    if (r < 0) blocked_err(name, errno, NULL);
    else escaped(name, "kcmp compared its memory with the kernel's (%ld)", r);
}

static void probe_get_robust_list_kernel(const char *name)
{
    void *head = NULL;
    size_t len = 0;
    if (syscall(SYS_get_robust_list, g_kernel_pid, &head, &len) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "read the kernel's robust futex list head %p", head);
}

static void probe_pidfd_getfd_kernel(const char *name)
{
    int pfd = open_pidfd(g_kernel_pid);
    if (pfd < 0) {
        blocked_err(name, errno, "pidfd_open");
        return;
    }
    long r = syscall(SYS_pidfd_getfd, pfd, 0, 0);
    int e = errno;
    close(pfd);
    if (r < 0) blocked_err(name, e, "pidfd_getfd");
    else {
        close((int)r);
        escaped(name, "copied the kernel's fd 0 (as fd %ld)", r);
    }
}

/* ---- signals (kill -1 last) -------------------------------------------------------- */

static void probe_kill_canary(const char *name) { kill_probe(name, g_canary_pid); }
static void probe_kill_peer(const char *name) { kill_probe(name, g_peer_pid); }

static void probe_tgkill_kernel(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not signalling the kernel while privileged");
        return;
    }
    if (syscall(SYS_tgkill, g_kernel_pid, g_kernel_pid, SIGKILL) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "SIGKILL delivered to the kernel %d", (int)g_kernel_pid);
}

static void probe_tkill_kernel(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not signalling the kernel while privileged");
        return;
    }
    if (syscall(SYS_tkill, g_kernel_pid, SIGKILL) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "SIGKILL delivered to the kernel %d", (int)g_kernel_pid);
}

static void probe_rt_sigqueueinfo_kernel(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not signalling the kernel while privileged");
        return;
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGKILL;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    if (syscall(SYS_rt_sigqueueinfo, g_kernel_pid, SIGKILL, &si) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "SIGKILL queued to the kernel %d", (int)g_kernel_pid);
}

static void probe_pidfd_send_signal_kernel(const char *name)
{
    if (privileged()) {
        skipped_root(name, "not signalling the kernel while privileged");
        return;
    }
    int pfd = open_pidfd(g_kernel_pid);
    if (pfd < 0) {
        blocked_err(name, errno, "pidfd_open");
        return;
    }
    long r = syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
    int e = errno;
    close(pfd);
    if (r != 0) blocked_err(name, e, "pidfd_send_signal");
    else escaped(name, "SIGKILL sent to the kernel through a pidfd");
}

static void probe_kill_kernel(const char *name) { kill_probe(name, g_kernel_pid); }

static void probe_kill_all(const char *name)
{
    if (privileged()) {
        skipped_root(name, "never calls kill(-1) while privileged");
        return;
    }
    /* Linux answers 0 as soon as kill(-1) found a candidate, even when every one refused with
     * EPERM: success here means the call got past the filter; the test checks its canaries. */
    if (kill(-1, SIGKILL) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "kill(-1, SIGKILL) was accepted (returned 0)");
}

/* ---- last: changes that cannot be undone ------------------------------------------- */

static void probe_unshare_newuser(const char *name)
{
    if (unshare(CLONE_NEWUSER) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "unshare(CLONE_NEWUSER) worked (now root of a new user namespace)");
}

static void probe_ptrace_traceme(const char *name)
{
    /* In the main thread, just before the bombs (which raise no signals): a traced thread that
     * exits stays a zombie until the tracer reaps it with __WALL, which would keep the whole
     * process from ever being reaped by a parent that waits for its pid only. */
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) blocked_err(name, errno, NULL);
    else escaped(name, "PTRACE_TRACEME worked (now traced by its parent)");
}

/* ---- bombs ------------------------------------------------------------------------- */

static void probe_memory_bomb(const char *name)
{
    enum { STEP_MIB = 64, MAX_STEPS = 1024, ENOUGH_MIB = 16384 };
    static void *blocks[MAX_STEPS];
    const size_t step = (size_t)STEP_MIB << 20;
    /* Never more than 3/4 of the host's memory: past that only the OOM killer would stop it,
     * and it might pick another process. Stopping there means no limit did: ESCAPED. */
    long max_steps = MAX_STEPS;
    struct sysinfo si;
    if (sysinfo(&si) == 0 && si.mem_unit > 0) {
        unsigned long long host = ((unsigned long long)si.totalram + si.totalswap) * si.mem_unit;
        unsigned long long cap = host / 4 * 3 / step;
        if (cap < (unsigned long long)max_steps) max_steps = (long)cap;
    }
    long n = 0;
    int e = 0;
    for (; n < max_steps; n++) {
        void *p = mmap(NULL, step, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            e = errno;
            break;
        }
        for (size_t off = 0; off < step; off += 4096) ((volatile char *)p)[off] = 1;
        blocks[n] = p;
    }
    for (long i = 0; i < n; i++) munmap(blocks[i], step);
    long mib = n * STEP_MIB;
    if (n == MAX_STEPS) escaped(name, "allocated and touched %ld MiB", mib);
    else if (n == max_steps) escaped(name, "allocated and touched %ld MiB, 3/4 of the host's memory, and no limit stopped it", mib);
    else if (mib >= ENOUGH_MIB) escaped(name, "allocated and touched %ld MiB before %s", mib, errname(e));
    else blocked(name, "%s after %ld MiB", errname(e), mib);
}

static pthread_mutex_t g_bomb_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_bomb_cond = PTHREAD_COND_INITIALIZER;
static int g_bomb_release;

static void *bomb_thread(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_bomb_lock);
    while (!g_bomb_release) pthread_cond_wait(&g_bomb_cond, &g_bomb_lock);
    pthread_mutex_unlock(&g_bomb_lock);
    return NULL;
}

static void probe_thread_bomb(const char *name)
{
    enum { MAX_THREADS = 10000 };
    pthread_t *t = calloc(MAX_THREADS, sizeof *t);
    if (!t) {
        blocked(name, "ENOMEM before the first thread");
        return;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    g_bomb_release = 0;
    int n = 0, rc = 0;
    for (; n < MAX_THREADS; n++) {
        rc = pthread_create(&t[n], &attr, bomb_thread, NULL);
        if (rc != 0) break;
    }
    pthread_mutex_lock(&g_bomb_lock);
    g_bomb_release = 1;
    pthread_cond_broadcast(&g_bomb_cond);
    pthread_mutex_unlock(&g_bomb_lock);
    for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
    pthread_attr_destroy(&attr);
    free(t);
    if (n == MAX_THREADS) escaped(name, "created %d threads", n);
    else blocked(name, "%s after %d threads", errname(rc), n);
}

/* ---- the probe list ---------------------------------------------------------------- */

struct probe {
    const char *name;
    void (*fn)(const char *name);
};

static const struct probe g_probes[] = {
    /* file system */
    { "read-etc-shadow", probe_read_etc_shadow },
    { "read-etc-passwd", probe_read_etc_passwd },
    { "read-canary", probe_read_canary },
    { "stat-canary", probe_stat_canary },
    { "write-canary", probe_write_canary },
    { "truncate-canary", probe_truncate_canary },
    { "chmod-canary", probe_chmod_canary },
    { "chown-canary", probe_chown_canary },
    { "hardlink-canary", probe_hardlink_canary },
    { "rename-canary", probe_rename_canary },
    { "unlink-canary", probe_unlink_canary },
    { "create-file-root", probe_create_file_root },
    { "create-file-tmp", probe_create_file_tmp },
    { "create-file-var-tmp", probe_create_file_var_tmp },
    { "create-file-dev-shm", probe_create_file_dev_shm },
    { "mkdir-root", probe_mkdir_root },
    { "mkdir-tmp", probe_mkdir_tmp },
    { "symlink-tmp", probe_symlink_tmp },
    { "mknod-dev-mem", probe_mknod_dev_mem },
    { "write-self-exe", probe_write_self_exe },
    { "chmod-self-exe", probe_chmod_self_exe },
    { "chown-self-exe", probe_chown_self_exe },
    { "open-dir-root", probe_open_dir_root },
    { "open-dir-home", probe_open_dir_home },
    { "proc-foreign-pids", probe_proc_foreign_pids },
    { "proc-root-pid1", probe_proc_root_pid1 },
    { "open-dev-mem", probe_open_dev_mem },
    { "open-dev-kmsg", probe_open_dev_kmsg },
    { "open-dev-tty", probe_open_dev_tty },
    { "write-proc-sysrq", probe_write_proc_sysrq },
    { "write-proc-sys-hostname", probe_write_proc_sys_hostname },
    { "oom-score-adj-lower", probe_oom_score_adj_lower },
    { "open-by-handle-at", probe_open_by_handle_at },
    /* sockets and other ABIs */
    { "socket-inet", probe_socket_inet },
    { "socket-inet6", probe_socket_inet6 },
    { "socket-unix", probe_socket_unix },
    { "socket-netlink", probe_socket_netlink },
    { "socket-packet", probe_socket_packet },
    { "socket-inet-raw", probe_socket_inet_raw },
    { "socketpair-unix", probe_socketpair_unix },
    { "x32-socket", probe_x32_socket },
    { "i386-int80-socket", probe_i386_int80_socket },
    /* memory */
    { "mmap-rwx-anon", probe_mmap_rwx_anon },
    { "mprotect-rwx", probe_mprotect_rwx },
    { "mmap-shared-anon", probe_mmap_shared_anon },
    { "mmap-arena-exec", probe_mmap_arena_exec },
    { "mmap-arena-exec-private", probe_mmap_arena_exec_private },
    { "mmap-arena-rwx", probe_mmap_arena_rwx },
    { "mprotect-arena-exec", probe_mprotect_arena_exec },
    { "ftruncate-arena", probe_ftruncate_arena },
    { "reopen-kernel-page-rdwr", probe_reopen_kernel_page_rdwr },
    { "mmap-kernel-page-write", probe_mmap_kernel_page_write },
    { "mprotect-kernel-page-write", probe_mprotect_kernel_page_write },
    { "fchmod-kernel-page", probe_fchmod_kernel_page },
    { "ftruncate-kernel-page", probe_ftruncate_kernel_page },
    { "proc-self-mem-write-text", probe_proc_self_mem_write_text },
    { "personality-read-implies-exec", probe_personality_read_implies_exec },
    /* process creation */
    { "fork", probe_fork },
    { "vfork", probe_vfork },
    { "clone-process", probe_clone_process },
    { "clone-newuser", probe_clone_newuser },
    { "clone-vm-process", probe_clone_vm_process },
    { "clone-thread-newnet", probe_clone_thread_newnet },
    { "clone3", probe_clone3 },
    /* exec */
    { "execve-self", probe_execve_self },
    { "execve-sh", probe_execve_sh },
    { "execveat-fd1000", probe_execveat_fd1000 },
    { "memfd-exec", probe_memfd_exec },
    /* kernel facilities */
    { "io-uring-setup", probe_io_uring_setup },
    { "perf-event-open", probe_perf_event_open },
    { "bpf-prog-load", probe_bpf_prog_load },
    { "bpf-map-create", probe_bpf_map_create },
    { "add-key", probe_add_key },
    { "keyctl-user-keyring", probe_keyctl_user_keyring },
    { "userfaultfd", probe_userfaultfd },
    { "fanotify-init", probe_fanotify_init },
    { "syslog-read-all", probe_syslog_read_all },
    { "ioctl-tiocsti", probe_ioctl_tiocsti },
    /* privileged calls */
    { "iopl", probe_iopl },
    { "ioperm", probe_ioperm },
    { "kexec-load", probe_kexec_load },
    { "kexec-file-load", probe_kexec_file_load },
    { "init-module", probe_init_module },
    { "finit-module", probe_finit_module },
    { "delete-module", probe_delete_module },
    { "swapon", probe_swapon },
    { "swapoff", probe_swapoff },
    { "acct", probe_acct },
    { "settimeofday", probe_settimeofday },
    { "clock-settime", probe_clock_settime },
    { "sethostname", probe_sethostname },
    { "setdomainname", probe_setdomainname },
    { "reboot", probe_reboot },
    { "setuid-root", probe_setuid_root },
    { "setresuid-root", probe_setresuid_root },
    { "setgid-root", probe_setgid_root },
    { "setgroups-root", probe_setgroups_root },
    { "capset-all", probe_capset_all },
    { "cap-ambient-raise", probe_cap_ambient_raise },
    { "seccomp-disable", probe_seccomp_disable },
    { "prctl-set-mm-exe", probe_prctl_set_mm_exe },
    /* mounts and namespaces */
    { "mount-tmpfs", probe_mount_tmpfs },
    { "umount-proc", probe_umount_proc },
    { "fsopen-tmpfs", probe_fsopen_tmpfs },
    { "open-tree-clone", probe_open_tree_clone },
    { "pivot-root", probe_pivot_root },
    { "chroot", probe_chroot },
    { "unshare-newns", probe_unshare_newns },
    { "unshare-newnet", probe_unshare_newnet },
    { "setns-kernel-net", probe_setns_kernel_net },
    { "setns-pidfd-kernel", probe_setns_pidfd_kernel },
    /* limits and scheduling */
    { "setrlimit-nofile", probe_setrlimit_nofile },
    { "setrlimit-nproc", probe_setrlimit_nproc },
    { "setrlimit-data", probe_setrlimit_data },
    { "setrlimit-core", probe_setrlimit_core },
    { "prlimit-kernel", probe_prlimit_kernel },
    { "setpriority-raise", probe_setpriority_raise },
    { "sched-fifo", probe_sched_fifo },
    { "ioprio-rt", probe_ioprio_rt },
    { "setpriority-kernel", probe_setpriority_kernel },
    { "sched-setaffinity-kernel", probe_sched_setaffinity_kernel },
    /* other processes */
    { "ptrace-attach-kernel", probe_ptrace_attach_kernel },
    { "ptrace-attach-peer", probe_ptrace_attach_peer },
    { "ptrace-attach-canary", probe_ptrace_attach_canary },
    { "process-vm-readv-kernel", probe_process_vm_readv_kernel },
    { "process-vm-writev-kernel", probe_process_vm_writev_kernel },
    { "proc-mem-read-kernel", probe_proc_mem_read_kernel },
    { "proc-mem-write-kernel", probe_proc_mem_write_kernel },
    { "proc-environ-kernel", probe_proc_environ_kernel },
    { "proc-root-kernel", probe_proc_root_kernel },
    { "proc-mem-peer", probe_proc_mem_peer },
    { "kcmp-kernel", probe_kcmp_kernel },
    { "get-robust-list-kernel", probe_get_robust_list_kernel },
    { "pidfd-getfd-kernel", probe_pidfd_getfd_kernel },
    /* signals */
    { "kill-canary", probe_kill_canary },
    { "kill-peer", probe_kill_peer },
    { "tgkill-kernel", probe_tgkill_kernel },
    { "tkill-kernel", probe_tkill_kernel },
    { "rt-sigqueueinfo-kernel", probe_rt_sigqueueinfo_kernel },
    { "pidfd-send-signal-kernel", probe_pidfd_send_signal_kernel },
    { "kill-kernel", probe_kill_kernel },
    { "kill-all", probe_kill_all },
    /* irreversible */
    { "unshare-newuser", probe_unshare_newuser },
    { "ptrace-traceme", probe_ptrace_traceme },
    /* bombs */
    { "memory-bomb", probe_memory_bomb },
    { "thread-bomb", probe_thread_bomb },
};

enum { NPROBES = sizeof g_probes / sizeof g_probes[0] };

static int run_probes(int first)
{
    signal(SIGPIPE, SIG_IGN);
    for (g_cur = first; g_cur < NPROBES; g_cur++) {
        int before = g_nprinted;
        g_probes[g_cur].fn(g_probes[g_cur].name);
        if (g_nprinted == before) blocked(g_probes[g_cur].name, "internal-no-result");
    }
    printf("done %d %d\n", g_nprinted, g_nescaped);
    fflush(stdout);
    return 0;
}

static int parse_pid(const char *s, pid_t *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v <= 1 || v > INT_MAX) return -1;
    *out = (pid_t)v;
    return 0;
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* ---- hold -------------------------------------------------------------------------- */

static int hold(void)
{
    printf("ready\n");
    fflush(stdout);
    static int word;
    for (;;) {
        struct timespec ts = { 3600, 0 };
        if (nanosleep(&ts, NULL) == 0 || errno == EINTR) continue;
        if (poll(NULL, 0, -1) == 0 || errno == EINTR) continue;
        syscall(SYS_futex, &word, 0 /* FUTEX_WAIT */, 0, NULL, NULL, 0);
    }
    return 0;
}

/* ---- fuzz -------------------------------------------------------------------------- */

static uint64_t g_rng;

static uint64_t rnd(void)
{
    uint64_t x = g_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return g_rng = x;
}

enum { SCRATCH_SIZE = 256 * 1024, ZERO_OFF = 64 * 1024, ZERO_LEN = 32 * 1024, STR_OFF = 128 * 1024,
       STR_STRIDE = 256, CLONE_ARGS_OFF = 120 * 1024, SACRIFICE_PAGES = 16, PAGE = 4096 };

static const char *const g_fuzz_strings[] = {
    "/", ".", "..", "/tmp", "/tmp/bulkhead-fuzz", "/tmp/bulkhead-fuzz/x", "/dev/shm/bulkhead-fuzz",
    "/dev/null", "/dev/zero", "/dev/urandom", "/etc/passwd", "/etc/shadow", "/proc", "/proc/self/status",
    "/proc/1/mem", "/proc/1/root", "/proc/sysrq-trigger", "/sys/kernel", "/root", "tmpfs", "proc", "none",
    "user", "x", "bulkhead", "",
};
enum { NSTRINGS = sizeof g_fuzz_strings / sizeof g_fuzz_strings[0] };

static unsigned char *g_scratch, *g_pristine, *g_sacrifice;
static pid_t g_fz_pid, g_fz_pgrp;
static atomic_int g_wd_tid;
static atomic_ulong g_wd_iter;
static atomic_ulong g_wd_nr;
static atomic_int g_wd_stop;

static void on_watchdog(int sig) { (void)sig; }

/* Asynchronous signals that still arrive (the skip rules should leave none) are counted, not
 * fatal; faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS) and SIGINT, SIGTERM and
 * SIGQUIT keep their default action. */
static volatile sig_atomic_t g_fz_signals[65];
static void on_stray_signal(int sig)
{
    if (sig > 0 && sig < 65) g_fz_signals[sig]++;
}

static void *watchdog(void *arg)
{
    (void)arg;
    atomic_store(&g_wd_tid, (int)syscall(SYS_gettid));
    pid_t main_tid = g_fz_pid;
    unsigned long last = atomic_load(&g_wd_iter);
    int stuck_ms = 0;
    while (!atomic_load(&g_wd_stop)) {
        sleep_ms(200);
        unsigned long now = atomic_load(&g_wd_iter);
        if (now != last) {
            last = now;
            stuck_ms = 0;
            continue;
        }
        stuck_ms += 200;
        if (stuck_ms >= 2000) {
            if (stuck_ms % 10000 == 0) {
                char msg[96];
                int n = snprintf(msg, sizeof msg, "bulkhead-escape fuzz: call 0x%lx stuck for %d s\n",
                                 atomic_load(&g_wd_nr), stuck_ms / 1000);
                if (write(2, msg, (size_t)n) < 0) {
                    /* nothing to do */
                }
            }
            syscall(SYS_tgkill, g_fz_pid, main_tid, SIGUSR2); /* interrupts the blocked call (EINTR) */
        }
    }
    return NULL;
}

static uint64_t scratch_ptr(void) { return (uint64_t)(uintptr_t)(g_scratch + (rnd() % (SCRATCH_SIZE / 8)) * 8); }

static uint64_t rand_arg(void)
{
    uint64_t r = rnd();
    switch (r % 16) {
    case 0: case 1: case 2: return rnd() % 8;
    case 3: return rnd() % 64;
    case 4: return rnd() % 4096;
    case 5: return (uint64_t)-1;
    case 6: case 7: return scratch_ptr();
    case 8: return (uint64_t)(uintptr_t)(g_scratch + ZERO_OFF + (rnd() % (ZERO_LEN / 8)) * 8);
    case 9: case 10: return (uint64_t)(uintptr_t)(g_scratch + STR_OFF + (rnd() % NSTRINGS) * STR_STRIDE);
    case 11: case 12: return rnd();
    case 13: return (1ULL << (rnd() % 64)) | (1ULL << (rnd() % 64));
    case 14: return (rnd() % 64) * PAGE;
    default: return rnd() % 0x10000;
    }
}

/* x32 numbers 512..547 are x32 versions of these x86_64 calls */
static const unsigned short g_x32_map[36] = { 13, 15, 16, 19, 20, 45, 46, 47, 59, 101, 127, 128, 129, 131, 222, 244, 246, 247,
                                              273, 274, 278, 279, 295, 296, 297, 299, 307, 310, 311, 54, 55, 206, 209, 322, 327, 328 };

/* Does a pid argument of kill-like calls reach this process? kill() also takes a thread id. */
static int targets_self(int pid)
{
    int wd = atomic_load(&g_wd_tid);
    return pid == 0 || pid == g_fz_pid || pid == -g_fz_pid || (wd > 0 && (pid == wd || pid == -wd)) ||
           (g_fz_pgrp > 0 && pid == -g_fz_pgrp);
}

/* Would this call (x86_64 number n) only kill, hang or blind the fuzzer itself? */
static int fuzz_skip(unsigned n, const uint64_t a[6])
{
    int i0 = (int)(uint32_t)a[0], i1 = (int)(uint32_t)a[1];
    unsigned u0 = (uint32_t)a[0], u1 = (uint32_t)a[1], u2 = (uint32_t)a[2];
    switch (n) {
    /* exit, signal machinery, thread state, memory the fuzzer lives in */
    case 60: case 231: case 15: case 13: case 14: case 131: case 158: case 218: case 273: case 334: case 157:
    case 11: case 25: case 12: case 28: case 58: case 160:
    case 335: case 336: /* uretprobe, uprobe: SIGILL unless called from a uprobe trampoline */
    /* calls that wait */
    case 202: case 449: case 454: case 455: case 456: case 34: case 35: case 230: case 0: case 17: case 19:
    case 295: case 327: case 45: case 47: case 299: case 7: case 271: case 23: case 270: case 232: case 281:
    case 441: case 61: case 247: case 130: case 128: case 70: case 65: case 220: case 208: case 333: case 426:
    case 43: case 288: case 40: case 275: case 276: case 278: case 73: case 72: case 242: case 243:
    /* timers that signal */
    case 37: case 38: case 222: case 223: case 224: case 225: case 226:
        return 1;
    /* fds 0-5 are stdio and the kernel channel (arena, kernel page, doorbell): no closing,
     * replacing, copying (a copy would take the writes) or writing; stdout must keep working
     * and a random doorbell ring would test the kernel's trap handling, not the confinement */
    case 3: case 436: return u0 < 6;               /* close, close_range */
    case 33: case 292: return u1 < 6 || u0 < 6;    /* dup2/dup3 onto them or of them */
    case 32: return u0 < 6;                        /* dup */
    case 1: case 8: case 16: case 18: case 20: case 42: case 44: case 46: case 48: case 49: case 50: case 54:
    case 77: case 91: case 93: case 190: case 199: case 285: case 296: case 307: case 328:
        return u0 < 6;                             /* writes, seeks, ioctls, socket and attribute changes */
    case 326: return u2 < 6;                       /* copy_file_range into them */
    case 9: return (a[3] & 0x10) != 0;             /* mmap MAP_FIXED */
    case 30: return (a[2] & 040000) != 0;          /* shmat SHM_REMAP */
    case 62: case 129:                             /* kill, rt_sigqueueinfo: self (a tid counts), own group */
        return targets_self(i0);
    case 200: return i0 == 0 || targets_self(i0);
    case 234: case 297: return targets_self(i0) || targets_self(i1);
    case 298:                                      /* perf_event_open: no SIGTRAP-on-overflow events */
        if (a[0] >= (uint64_t)(uintptr_t)g_scratch && a[0] < (uint64_t)(uintptr_t)(g_scratch + SCRATCH_SIZE - 48))
            g_scratch[a[0] - (uint64_t)(uintptr_t)g_scratch + 44] &= (unsigned char)~0x20; /* attr.sigtrap, bit 37 */
        return 0;
    case 424:                                      /* PIDFD_SELF_*, or a whole process group (ours?) */
        return i0 == -10000 || i0 == -20000 || (a[3] & 4 /* PIDFD_SIGNAL_PROCESS_GROUP */) != 0;
    case 434: return i0 == g_fz_pid || i0 == atomic_load(&g_wd_tid);
    case 101: return a[0] == 0;                    /* PTRACE_TRACEME */
    case 317: return u0 == 0 || u0 == 1;           /* seccomp strict / a random filter */
    case 302: return (i0 == 0 || i0 == g_fz_pid || i0 == atomic_load(&g_wd_tid)) && a[2] != 0;
    default: return 0;
    }
}

/* Successes that say nothing about the confinement. */
static int fuzz_harmless(unsigned n, const uint64_t a[6])
{
    switch (n) {
    case 9: {                                      /* mmap: not W+X, not exec shared, not shared anon */
        uint64_t prot = a[2], flags = a[3];
        if ((prot & 6) == 6) return 0;
        if ((flags & 3) && (flags & 0x20)) return 0;
        if ((prot & 4) && (flags & 3)) return 0;
        return 1;
    }
    case 10: case 329: return (a[2] & 6) != 6;     /* mprotect: not W+X */
    case 16: {                                     /* ioctl: terminal queries, FIONBIO, FIOCLEX */
        uint32_t c = (uint32_t)a[1];
        return c == 0x5401 || c == 0x5413 || c == 0x541B || c == 0x5421 || c == 0x5451 || c == 0x5450;
    }
    case 302: return (int)(uint32_t)a[0] == 0 && a[2] == 0;
    case 274: return (int)(uint32_t)a[0] == 0 || (int)(uint32_t)a[0] == g_fz_pid;
    case 1: case 2: case 3: case 4: case 5: case 6: case 8: case 20: case 21: case 22: case 24: case 26: case 27:
    case 32: case 33: case 36: case 39: case 63: case 74: case 75: case 78: case 79: case 80: case 81: case 89:
    case 95: case 96: case 97: case 98: case 99: case 100: case 102: case 104: case 107: case 108: case 110:
    case 111: case 115: case 118: case 120: case 121: case 124: case 125: case 127: case 137: case 138: case 140:
    case 143: case 145: case 146: case 147: case 148: case 149: case 150: case 152: case 186: case 187: case 191:
    case 192: case 193: case 194: case 195: case 196: case 201: case 203: case 204: case 213: case 217: case 219:
    case 221: case 228: case 229: case 233: case 239: case 252: case 253: case 254: case 255: case 257: case 262:
    case 267: case 269: case 277: case 282: case 283: case 284: case 286: case 287: case 289: case 290: case 291:
    case 292: case 293: case 294: case 309: case 315: case 318: case 324: case 325: case 332: case 436: case 437:
    case 439: case 451:
        return 1;
    default:
        return 0;
    }
}

/* One raw call. A process-creating call (isfork) that returns 0 is the child: it exits at
 * once without touching memory, so a random stack or TLS cannot hurt it. */
static long fuzz_raw(uint64_t nr, const uint64_t a[6], int isfork)
{
    long ret;
    register uint64_t r10 __asm__("r10") = a[3];
    register uint64_t r8 __asm__("r8") = a[4];
    register uint64_t r9 __asm__("r9") = a[5];
    __asm__ volatile("syscall\n\t"
                     "testl %[isfork], %[isfork]\n\t"
                     "jz 1f\n\t"
                     "testq %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "movl $60, %%eax\n\t"
                     "xorl %%edi, %%edi\n\t"
                     "syscall\n\t"
                     "ud2\n\t"
                     "1:\n\t"
                     : "=a"(ret)
                     : "0"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9), [isfork] "r"(isfork)
                     : "rcx", "r11", "memory");
    return ret;
}

enum { KIND_NATIVE, KIND_X32, KIND_HI, KIND_OTHER };

struct tally {
    unsigned long native[512], x32[1024], hi[512];
    uint64_t other_nr[64];
    unsigned long other_count[64];
    int nother;
};

static void tally_add(struct tally *t, int kind, unsigned base, uint64_t nr)
{
    if (kind == KIND_NATIVE) t->native[base]++;
    else if (kind == KIND_X32) t->x32[base]++;
    else if (kind == KIND_HI) t->hi[base]++;
    else {
        for (int i = 0; i < t->nother; i++)
            if (t->other_nr[i] == nr) {
                t->other_count[i]++;
                return;
            }
        if (t->nother < 64) {
            t->other_nr[t->nother] = nr;
            t->other_count[t->nother++] = 1;
        }
    }
}

static void tally_print(const char *label, const struct tally *t)
{
    printf("fuzz %s", label);
    for (int i = 0; i < 512; i++)
        if (t->native[i]) printf(" %d:%lu", i, t->native[i]);
    for (int i = 0; i < 1024; i++)
        if (t->x32[i]) printf(" x32+%d:%lu", i, t->x32[i]);
    for (int i = 0; i < 512; i++)
        if (t->hi[i]) printf(" hi+%d:%lu", i, t->hi[i]);
    for (int i = 0; i < t->nother; i++) printf(" %llu:%lu", (unsigned long long)t->other_nr[i], t->other_count[i]);
    printf("\n");
}

static struct tally g_all_ok, g_unexpected, g_hi_ok;
static unsigned long g_errs[4096];

static void fuzz_fill_pristine(void)
{
    for (size_t i = 0; i < SCRATCH_SIZE; i += 8) {
        uint64_t v = rnd();
        memcpy(g_pristine + i, &v, 8);
    }
    memset(g_pristine + ZERO_OFF, 0, ZERO_LEN);
    for (int i = 0; i < NSTRINGS; i++) {
        char *s = (char *)g_pristine + STR_OFF + (size_t)i * STR_STRIDE;
        memset(s, 0, STR_STRIDE);
        strcpy(s, g_fuzz_strings[i]);
    }
}

static unsigned char *guarded(size_t size)
{
    unsigned char *p = mmap(NULL, size + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (mprotect(p + PAGE, size, PROT_READ | PROT_WRITE) != 0) return NULL;
    return p + PAGE;
}

static int fuzz(uint64_t seed, unsigned long count)
{
    if (privileged()) {
        printf("fuzz refused: running privileged (euid 0 or capabilities)\n");
        fflush(stdout);
        return 2;
    }
    g_rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    g_fz_pid = getpid();
    g_fz_pgrp = getpgrp();
    if (chdir("/") != 0) {
        /* stay where the kernel put us */
    }

    static const int ignored[] = { SIGPIPE, SIGXFSZ, SIGALRM, SIGVTALRM, SIGPROF, SIGCHLD, SIGIO, SIGURG,
                                   SIGTTOU, SIGTTIN, SIGTSTP, SIGHUP, SIGUSR1 };
    for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) signal(ignored[i], SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog; /* no SA_RESTART: a blocked call returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    sa.sa_handler = on_stray_signal;
    sa.sa_flags = SA_RESTART;
    static const int counted[] = { SIGTRAP, SIGXCPU, SIGWINCH, SIGPWR, SIGSTKFLT, SIGCONT };
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) sigaction(counted[i], &sa, NULL);
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) sigaction(sig, &sa, NULL);

    g_scratch = guarded(SCRATCH_SIZE);
    g_sacrifice = guarded(SACRIFICE_PAGES * PAGE);
    g_pristine = malloc(SCRATCH_SIZE);
    if (!g_scratch || !g_sacrifice || !g_pristine) {
        printf("fuzz failed: cannot allocate its buffers (%s)\n", errname(errno));
        fflush(stdout);
        return 1;
    }
    fuzz_fill_pristine();
    memcpy(g_scratch, g_pristine, SCRATCH_SIZE);

    pthread_t wd;
    int have_wd = pthread_create(&wd, NULL, watchdog, NULL) == 0;
    for (int i = 0; have_wd && i < 5000 && atomic_load(&g_wd_tid) == 0; i++) sleep_ms(1); /* its tid is protected */
    printf("fuzz start seed=%llu count=%lu pid=%d watchdog=%s\n", (unsigned long long)seed, count, (int)g_fz_pid,
           have_wd ? "yes" : "no");
    fflush(stdout);

    unsigned long eperm = 0, enosys = 0, other = 0, ok = 0;
    for (unsigned long i = 0; i < count;) {
        uint64_t a[6], nr;
        unsigned base, rule;
        int kind;
        uint64_t pick = rnd() % 100;
        if (pick < 88) {
            kind = KIND_NATIVE;
            base = rule = (unsigned)(rnd() % 461);
            nr = base;
        } else if (pick < 93) {
            kind = KIND_X32;
            base = (unsigned)(rnd() % 548);
            rule = base >= 512 ? g_x32_map[base - 512] : base;
            nr = X32_BIT | base;
        } else if (pick < 97) {
            kind = KIND_OTHER;
            base = rule = 9999; /* no such call */
            nr = (rnd() % 4 == 0) ? (uint64_t)-1 - rnd() % 4 : 1000 + rnd() % 200000;
        } else {
            kind = KIND_HI; /* the kernel uses the low 32 bits: still call `base` */
            base = rule = (unsigned)(rnd() % 461);
            nr = ((rnd() | 1) << 32) | base;
        }
        for (int k = 0; k < 6; k++) a[k] = rand_arg();

        if (rule == 56) /* clone: a process, never a thread or shared memory, exit signal SIGCHLD */
            a[0] = (a[0] & ~(uint64_t)(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND | 0xff)) | SIGCHLD;
        if (rule == 435) {
            uint64_t *ca = (uint64_t *)(void *)(g_scratch + CLONE_ARGS_OFF);
            memset(ca, 0, 11 * 8);
            ca[0] = rnd() & rnd() & 0x3ffffff00ULL & ~(uint64_t)(CLONE_VM | CLONE_THREAD | CLONE_SIGHAND);
            ca[1] = scratch_ptr();
            ca[2] = scratch_ptr();
            ca[3] = scratch_ptr();
            ca[4] = SIGCHLD;
            ca[7] = rnd();
            ca[10] = rnd() % 8;
            a[0] = (uint64_t)(uintptr_t)ca;
            a[1] = rnd() % 4 ? 88 : rand_arg();
        }
        if (rule == 10 || rule == 329) { /* mprotect only inside the sacrificial pages */
            unsigned first = (unsigned)(rnd() % SACRIFICE_PAGES);
            unsigned len = 1 + (unsigned)(rnd() % (SACRIFICE_PAGES - first));
            a[0] = (uint64_t)(uintptr_t)(g_sacrifice + (size_t)first * PAGE);
            a[1] = (uint64_t)len * PAGE;
        }
        if (kind != KIND_OTHER && fuzz_skip(rule, a)) continue;
        int isfork = kind != KIND_OTHER && (rule == 56 || rule == 57 || rule == 58 || rule == 435);

        atomic_store(&g_wd_nr, (unsigned long)nr);
        long r = fuzz_raw(nr, a, isfork);
        atomic_fetch_add(&g_wd_iter, 1);
        i++;

        if ((unsigned long)r >= (unsigned long)-4095L) {
            int e = (int)-r;
            if (e == EPERM) eperm++;
            else if (e == ENOSYS) enosys++;
            else other++;
            g_errs[e]++;
        } else {
            int benign = kind != KIND_X32 && kind != KIND_OTHER && fuzz_harmless(rule, a);
            /* with garbage above bit 31 the kernel and the filter both see `base`: listed as it */
            tally_add(&g_all_ok, kind == KIND_HI ? KIND_NATIVE : kind, base, nr);
            if (kind == KIND_HI) tally_add(&g_hi_ok, KIND_NATIVE, base, nr);
            if (!benign) {
                ok++;
                tally_add(&g_unexpected, kind == KIND_HI ? KIND_NATIVE : kind, base, nr);
            }
            if (kind != KIND_OTHER) {
                if (rule == 9) munmap((void *)r, a[1]);
                else if (rule == 30) shmdt((void *)r);
                else if (isfork && r > 0) waitpid((pid_t)r, NULL, __WALL); /* once: EINTR from the watchdog ends it */
                else if (rule == 109 || rule == 112) g_fz_pgrp = getpgrp();
            }
        }
        if (i % 1000 == 0)
            for (int fd = 6; fd < 1024; fd++) close(fd);
        if (i % 1024 == 0) memcpy(g_scratch, g_pristine, SCRATCH_SIZE);
        if (i % 100000 == 0) {
            printf("fuzz progress %lu\n", i);
            fflush(stdout);
        }
    }
    atomic_store(&g_wd_stop, 1);
    if (have_wd) pthread_join(wd, NULL);
    for (int fd = 6; fd < 1024; fd++) close(fd);

    printf("fuzz done %lu eperm=%lu enosys=%lu other_err=%lu ok=%lu\n", count, eperm, enosys, other, ok);
    tally_print("ok-calls", &g_all_ok);
    tally_print("unexpected-ok-calls", &g_unexpected);
    tally_print("hi-bits-ok-calls", &g_hi_ok);
    printf("fuzz errnos");
    for (int e = 1; e < 4096; e++)
        if (g_errs[e]) printf(" %s:%lu", errname(e), g_errs[e]);
    printf("\n");
    printf("fuzz stray-signals");
    for (int sig = 1; sig < 65; sig++)
        if (g_fz_signals[sig]) printf(" %d:%d", sig, (int)g_fz_signals[sig]);
    printf("\n");
    fflush(stdout);
    return 0;
}

/* ---- main -------------------------------------------------------------------------- */

static int usage(void)
{
    fprintf(stderr, "usage: bulkhead-escape probes CANARY_FILE CANARY_PID PEER_PID\n"
                    "       bulkhead-escape fuzz SEED COUNT\n"
                    "       bulkhead-escape hold\n");
    return 2;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "hold") == 0) return hold();
    if (argc == 4 && strcmp(argv[1], "fuzz") == 0) {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(argv[2], &end, 0);
        if (errno || *end || end == argv[2]) return usage();
        unsigned long count = strtoul(argv[3], &end, 0);
        if (errno || *end || end == argv[3]) return usage();
        return fuzz(seed, count);
    }
    g_kernel_pid = getppid();
    if (argc == 5 && strcmp(argv[1], "probes") == 0) {
        g_canary = argv[2];
        if (parse_pid(argv[3], &g_canary_pid) || parse_pid(argv[4], &g_peer_pid)) return usage();
        ssize_t n = readlink("/proc/self/exe", g_self, sizeof g_self - 1);
        g_self[n > 0 ? n : 0] = '\0';
        if (n <= 0) strcpy(g_self, argv[0]);
        return run_probes(0);
    }
    /* resume IDX NPRINTED NESCAPED SELF CANARY CANARY_PID PEER_PID: an exec probe worked */
    if (argc == 9 && strcmp(argv[1], "resume") == 0) {
        int idx;
        if (parse_int(argv[2], &idx) || parse_int(argv[3], &g_nprinted) || parse_int(argv[4], &g_nescaped) || idx >= NPROBES)
            return usage();
        snprintf(g_self, sizeof g_self, "%s", argv[5]);
        g_canary = argv[6];
        if (parse_pid(argv[7], &g_canary_pid) || parse_pid(argv[8], &g_peer_pid)) return usage();
        escaped(g_probes[idx].name, "exec replaced the process image (this line comes from the new image)");
        return run_probes(idx + 1);
    }
    return usage();
}
