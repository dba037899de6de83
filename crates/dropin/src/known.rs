//! Names systemd 257 knows: syscall groups, syscalls, capabilities, architectures, address families, errno names.
//
// Generated from systemd 257.13-1~deb13u1 (Debian 13 "trixie", amd64), run in a debootstrapped
// trixie root; do not edit by hand. How each table was obtained:
//
// - SYSCALL_GROUPS: `systemd-analyze syscall-filter` of systemd 257, every group it lists
//   (including @default and @known), members exactly as listed, nested @groups kept as listed.
// - SYSCALLS: the members of `@known` from the same output, with the nested `@obsolete` group
//   expanded (534 direct names + 22 names only listed under @obsolete). Note: @file-system lists
//   `fstatat` and `newfstat`, and @privileged lists `nfsservctl`, which are not in @known and so
//   are not here. Whether `SystemCallFilter=NAME` warns "System call NAME is not known" also
//   depends on libseccomp's table for the native architecture (e.g. `arc_gettls` warns on x86-64).
// - CAPABILITIES: `systemd-analyze capability` (cap_chown .. cap_checkpoint_restore, 0..40),
//   upper-cased; systemd parses capability names case-insensitively.
// - ARCHITECTURES: the names `SystemCallArchitectures=` accepts (seccomp_arch_from_string() in
//   src/shared/seccomp-util.c), checked one by one with `systemd-analyze verify`; `native` is
//   accepted as well but is not listed here. This is NOT the list printed by
//   `systemd-analyze architectures` (alpha, arc, ia64, sparc, ... are rejected; x32,
//   mips64-n32 and mips64-le-n32 are accepted).
// - ADDRESS_FAMILIES: the af list systemd builds with src/basic/generate-af-list.sh (AF_* macros
//   of <sys/socket.h> defined as [AP]F_*, minus AF_UNSPEC and AF_MAX), regenerated from trixie's
//   headers; every name checked with `systemd-analyze verify` (RestrictAddressFamilies=). The
//   aliases AF_FILE, AF_LOCAL and AF_ROUTE and the mixed-case AF_DECnet are accepted too.
// - ERRNO_NAMES: the errno list systemd builds with src/basic/generate-errno-list.sh (E* macros of
//   <errno.h>), regenerated from trixie's headers; every name checked with `systemd-analyze
//   verify` (SystemCallErrorNumber=). Aliases such as EWOULDBLOCK, EDEADLOCK and ENOTSUP are
//   included. `SystemCallErrorNumber=` also accepts `kill` and numbers 1..4095; it does NOT
//   accept `log` in systemd 257 (neither in the source nor in `systemd-analyze verify`).

/// Every system call group `systemd-analyze syscall-filter` lists (sorted by name), with its
/// members as listed: system call names and nested `@group` names.
#[rustfmt::skip]
pub const SYSCALL_GROUPS: &[(&str, &[&str])] = &[
    ("@aio", &[
        "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
        "io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
    ]),
    ("@basic-io", &[
        "_llseek", "close", "close_range", "dup", "dup2", "dup3", "llseek", "lseek", "pread64",
        "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev",
    ]),
    ("@chown", &[
        "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
    ]),
    ("@clock", &[
        "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64",
        "settimeofday",
    ]),
    ("@cpu-emulation", &[
        "modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old",
    ]),
    ("@debug", &[
        "lookup_dcookie", "perf_event_open", "pidfd_getfd", "ptrace", "rtas", "s390_runtime_instr",
        "sys_debug_setcontext",
    ]),
    ("@default", &[
        "@sandbox", "arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "execve",
        "exit", "exit_group", "futex", "futex_time64", "futex_waitv", "get_robust_list",
        "get_thread_area", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid", "getppid", "getrandom",
        "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getsid", "gettid",
        "gettimeofday", "getuid", "getuid32", "lsm_get_self_attr", "lsm_list_modules", "membarrier",
        "mmap", "mmap2", "mprotect", "mseal", "munmap", "nanosleep", "pause", "prlimit64",
        "restart_syscall", "riscv_flush_icache", "riscv_hwprobe", "rseq", "rt_sigreturn",
        "sched_getaffinity", "sched_yield", "set_robust_list", "set_thread_area", "set_tid_address",
        "set_tls", "sigreturn", "time", "ugetrlimit", "uretprobe",
    ]),
    ("@file-system", &[
        "access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate",
        "fchdir", "fchmod", "fchmodat", "fchmodat2", "fcntl", "fcntl64", "fgetxattr",
        "file_getattr", "file_setattr", "flistxattr", "fremovexattr", "fsetxattr", "fstat",
        "fstat64", "fstatat", "fstatat64", "fstatfs", "fstatfs64", "ftruncate", "ftruncate64",
        "futimesat", "getcwd", "getdents", "getdents64", "getxattr", "getxattrat",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "lgetxattr",
        "link", "linkat", "listmount", "listxattr", "listxattrat", "llistxattr", "lremovexattr",
        "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "newfstat",
        "newfstatat", "oldfstat", "oldlstat", "oldstat", "open", "openat", "openat2", "readlink",
        "readlinkat", "removexattr", "removexattrat", "rename", "renameat", "renameat2", "rmdir",
        "setxattr", "setxattrat", "stat", "stat64", "statfs", "statfs64", "statmount", "statx",
        "symlink", "symlinkat", "truncate", "truncate64", "unlink", "unlinkat", "utime",
        "utimensat", "utimensat_time64", "utimes",
    ]),
    ("@io-event", &[
        "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll",
        "ppoll_time64", "pselect6", "pselect6_time64", "select",
    ]),
    ("@ipc", &[
        "ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl",
        "msgget", "msgrcv", "msgsnd", "pipe", "pipe2", "process_madvise", "process_vm_readv",
        "process_vm_writev", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64",
        "shmat", "shmctl", "shmdt", "shmget",
    ]),
    ("@keyring", &[
        "add_key", "keyctl", "request_key",
    ]),
    ("@known", &[
        "@obsolete", "_llseek", "_newselect", "accept", "accept4", "access", "acct", "add_key",
        "adjtimex", "alarm", "arc_gettls", "arc_settls", "arc_usr_cmpxchg", "arch_prctl",
        "arm_fadvise64_64", "atomic_barrier", "atomic_cmpxchg_32", "bind", "bpf", "breakpoint",
        "brk", "cachectl", "cacheflush", "cachestat", "capget", "capset", "chdir", "chmod", "chown",
        "chown32", "chroot", "clock_adjtime", "clock_adjtime64", "clock_getres",
        "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
        "clock_nanosleep_time64", "clock_settime", "clock_settime64", "clone", "clone3", "close",
        "close_range", "connect", "copy_file_range", "creat", "delete_module", "dipc", "dup",
        "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
        "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
        "exec_with_loader", "execv", "execve", "execveat", "exit", "exit_group", "faccessat",
        "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_init", "fanotify_mark",
        "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
        "fcntl64", "fdatasync", "fgetxattr", "file_getattr", "file_setattr", "finit_module",
        "flistxattr", "flock", "fork", "fremovexattr", "fsconfig", "fsetxattr", "fsmount", "fsopen",
        "fspick", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
        "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
        "futex_wake", "futimesat", "get_mempolicy", "get_robust_list", "get_thread_area", "get_tls",
        "getcpu", "getcwd", "getdents", "getdents64", "getdomainname", "getdtablesize", "getegid",
        "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
        "gethostname", "getitimer", "getpagesize", "getpeername", "getpgid", "getpgrp", "getpid",
        "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
        "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid",
        "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat", "getxgid", "getxpid",
        "getxuid", "init_module", "inotify_add_watch", "inotify_init", "inotify_init1",
        "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter", "io_uring_register",
        "io_uring_setup", "ioctl", "ioperm", "iopl", "ioprio_get", "ioprio_set", "ipc", "kcmp",
        "kern_features", "kexec_file_load", "kexec_load", "keyctl", "kill", "landlock_add_rule",
        "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
        "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "llseek",
        "lookup_dcookie", "lremovexattr", "lseek", "lsetxattr", "lsm_get_self_attr",
        "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64", "madvise", "map_shadow_stack",
        "mbind", "membarrier", "memfd_create", "memfd_secret", "memory_ordering", "migrate_pages",
        "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
        "mmap2", "modify_ldt", "mount", "mount_setattr", "move_mount", "move_pages", "mprotect",
        "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
        "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
        "msgrcv", "msgsnd", "msync", "multiplexer", "munlock", "munlockall", "munmap",
        "name_to_handle_at", "nanosleep", "newfstatat", "nice", "old_adjtimex", "oldfstat",
        "oldlstat", "oldolduname", "oldstat", "oldumount", "olduname", "open", "open_by_handle_at",
        "open_tree", "openat", "openat2", "or1k_atomic", "osf_fstat", "osf_fstatfs",
        "osf_fstatfs64", "osf_getdirentries", "osf_getdomainname", "osf_getitimer", "osf_getrusage",
        "osf_getsysinfo", "osf_gettimeofday", "osf_lstat", "osf_mount", "osf_proplist_syscall",
        "osf_select", "osf_set_program_attributes", "osf_setitimer", "osf_setsysinfo",
        "osf_settimeofday", "osf_shmat", "osf_sigprocmask", "osf_sigstack", "osf_stat",
        "osf_statfs", "osf_statfs64", "osf_swapon", "osf_syscall", "osf_sysinfo",
        "osf_usleep_thread", "osf_utimes", "osf_utsname", "osf_wait4", "pause", "pciconfig_iobase",
        "pciconfig_read", "pciconfig_write", "perf_event_open", "perfctr", "personality",
        "pidfd_getfd", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pivot_root",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
        "pread64", "preadv", "preadv2", "prlimit64", "process_madvise", "process_mrelease",
        "process_vm_readv", "process_vm_writev", "pselect6", "pselect6_time64", "ptrace",
        "pwrite64", "pwritev", "pwritev2", "quotactl", "quotactl_fd", "read", "readahead",
        "readdir", "readlink", "readlinkat", "readv", "reboot", "recv", "recvfrom", "recvmmsg",
        "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "removexattrat", "rename",
        "renameat", "renameat2", "request_key", "restart_syscall", "riscv_flush_icache",
        "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
        "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "rtas", "s390_guarded_storage",
        "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr", "s390_sthyi",
        "sched_get_affinity", "sched_get_priority_max", "sched_get_priority_min",
        "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_set_affinity",
        "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
        "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_mempolicy",
        "set_mempolicy_home_node", "set_robust_list", "set_thread_area", "set_tid_address",
        "set_tls", "setdomainname", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid",
        "setgid32", "setgroups", "setgroups32", "sethae", "sethostname", "setitimer", "setns",
        "setpgid", "setpgrp", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
        "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt",
        "settimeofday", "setuid", "setuid32", "setxattr", "setxattrat", "sgetmask", "shmat",
        "shmctl", "shmdt", "shmget", "shutdown", "sigaction", "sigaltstack", "signal", "signalfd",
        "signalfd4", "sigpending", "sigprocmask", "sigreturn", "sigsuspend", "socket", "socketcall",
        "socketpair", "splice", "spu_create", "spu_run", "ssetmask", "stat", "stat64", "statfs",
        "statfs64", "statmount", "statx", "stime", "subpage_prot", "swapcontext", "swapoff",
        "swapon", "switch_endian", "symlink", "symlinkat", "sync", "sync_file_range",
        "sync_file_range2", "syncfs", "sys_debug_setcontext", "syscall", "sysfs", "sysinfo",
        "syslog", "sysmips", "tee", "tgkill", "time", "timer_create", "timer_delete",
        "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
        "timerfd", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
        "umount", "umount2", "uname", "unlink", "unlinkat", "unshare", "uretprobe", "userfaultfd",
        "usr26", "usr32", "ustat", "utime", "utimensat", "utimensat_time64", "utimes",
        "utrap_install", "vfork", "vhangup", "vm86", "vm86old", "vmsplice", "wait4", "waitid",
        "waitpid", "write", "writev",
    ]),
    ("@memlock", &[
        "mlock", "mlock2", "mlockall", "munlock", "munlockall",
    ]),
    ("@module", &[
        "delete_module", "finit_module", "init_module",
    ]),
    ("@mount", &[
        "chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
        "open_tree", "pivot_root", "umount", "umount2",
    ]),
    ("@network-io", &[
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt",
        "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg",
        "sendmsg", "sendto", "setsockopt", "shutdown", "socket", "socketcall", "socketpair",
    ]),
    ("@obsolete", &[
        "_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime", "get_kernel_syms",
        "getpmsg", "gtty", "idle", "lock", "mpx", "prof", "profil", "putpmsg", "query_module",
        "security", "sgetmask", "ssetmask", "stime", "stty", "sysfs", "tuxcall", "ulimit", "uselib",
        "ustat", "vserver",
    ]),
    ("@pkey", &[
        "pkey_alloc", "pkey_free", "pkey_mprotect",
    ]),
    ("@privileged", &[
        "@chown", "@clock", "@module", "@raw-io", "@reboot", "@swap", "_sysctl", "acct", "bpf",
        "capset", "chroot", "fanotify_init", "fanotify_mark", "nfsservctl", "open_by_handle_at",
        "pivot_root", "quotactl", "quotactl_fd", "setdomainname", "setfsuid", "setfsuid32",
        "setgroups", "setgroups32", "sethostname", "setresuid", "setresuid32", "setreuid",
        "setreuid32", "setuid", "setuid32", "vhangup",
    ]),
    ("@process", &[
        "capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
        "pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns",
        "swapcontext", "tgkill", "times", "tkill", "unshare", "vfork", "wait4", "waitid", "waitpid",
    ]),
    ("@raw-io", &[
        "ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
        "s390_pci_mmio_read", "s390_pci_mmio_write",
    ]),
    ("@reboot", &[
        "kexec_file_load", "kexec_load", "reboot",
    ]),
    ("@resources", &[
        "ioprio_set", "mbind", "migrate_pages", "move_pages", "nice", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "set_mempolicy",
        "set_mempolicy_home_node", "setpriority", "setrlimit",
    ]),
    ("@sandbox", &[
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
    ]),
    ("@setuid", &[
        "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid",
        "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
    ]),
    ("@signal", &[
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4",
        "sigpending", "sigprocmask", "sigsuspend",
    ]),
    ("@swap", &[
        "swapoff", "swapon",
    ]),
    ("@sync", &[
        "fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2", "syncfs",
    ]),
    ("@system-service", &[
        "@aio", "@basic-io", "@chown", "@default", "@file-system", "@io-event", "@ipc", "@keyring",
        "@memlock", "@network-io", "@process", "@resources", "@setuid", "@signal", "@sync",
        "@timer", "arm_fadvise64_64", "capget", "capset", "copy_file_range", "fadvise64",
        "fadvise64_64", "flock", "get_mempolicy", "getcpu", "getpriority", "ioctl", "ioprio_get",
        "kcmp", "madvise", "mremap", "name_to_handle_at", "oldolduname", "olduname", "personality",
        "readahead", "readdir", "remap_file_pages", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getattr", "sched_getparam", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_yield", "sendfile",
        "sendfile64", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setpgid", "setsid",
        "splice", "sysinfo", "tee", "umask", "uname", "userfaultfd", "vmsplice",
    ]),
    ("@timer", &[
        "alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun",
        "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    ]),
];

/// Every system call name in `@known` (nested `@obsolete` expanded), sorted.
#[rustfmt::skip]
pub const SYSCALLS: &[&str] = &[
    "_llseek", "_newselect", "_sysctl", "accept", "accept4", "access", "acct", "add_key",
    "adjtimex", "afs_syscall", "alarm", "arc_gettls", "arc_settls", "arc_usr_cmpxchg", "arch_prctl",
    "arm_fadvise64_64", "atomic_barrier", "atomic_cmpxchg_32", "bdflush", "bind", "bpf", "break",
    "breakpoint", "brk", "cachectl", "cacheflush", "cachestat", "capget", "capset", "chdir",
    "chmod", "chown", "chown32", "chroot", "clock_adjtime", "clock_adjtime64", "clock_getres",
    "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
    "clock_nanosleep_time64", "clock_settime", "clock_settime64", "clone", "clone3", "close",
    "close_range", "connect", "copy_file_range", "creat", "create_module", "delete_module", "dipc",
    "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
    "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2",
    "exec_with_loader", "execv", "execve", "execveat", "exit", "exit_group", "faccessat",
    "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_init", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "file_getattr", "file_setattr", "finit_module",
    "flistxattr", "flock", "fork", "fremovexattr", "fsconfig", "fsetxattr", "fsmount", "fsopen",
    "fspick", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftime",
    "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait",
    "futex_waitv", "futex_wake", "futimesat", "get_kernel_syms", "get_mempolicy", "get_robust_list",
    "get_thread_area", "get_tls", "getcpu", "getcwd", "getdents", "getdents64", "getdomainname",
    "getdtablesize", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
    "getgroups", "getgroups32", "gethostname", "getitimer", "getpagesize", "getpeername", "getpgid",
    "getpgrp", "getpid", "getpmsg", "getppid", "getpriority", "getrandom", "getresgid",
    "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid", "getsockname",
    "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
    "getxgid", "getxpid", "getxuid", "gtty", "idle", "init_module", "inotify_add_watch",
    "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents",
    "io_pgetevents", "io_pgetevents_time64", "io_setup", "io_submit", "io_uring_enter",
    "io_uring_register", "io_uring_setup", "ioctl", "ioperm", "iopl", "ioprio_get", "ioprio_set",
    "ipc", "kcmp", "kern_features", "kexec_file_load", "kexec_load", "keyctl", "kill",
    "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
    "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr",
    "llseek", "lock", "lookup_dcookie", "lremovexattr", "lseek", "lsetxattr", "lsm_get_self_attr",
    "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64", "madvise", "map_shadow_stack",
    "mbind", "membarrier", "memfd_create", "memfd_secret", "memory_ordering", "migrate_pages",
    "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap",
    "mmap2", "modify_ldt", "mount", "mount_setattr", "move_mount", "move_pages", "mprotect", "mpx",
    "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
    "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
    "msgrcv", "msgsnd", "msync", "multiplexer", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "nice", "old_adjtimex", "oldfstat", "oldlstat",
    "oldolduname", "oldstat", "oldumount", "olduname", "open", "open_by_handle_at", "open_tree",
    "openat", "openat2", "or1k_atomic", "osf_fstat", "osf_fstatfs", "osf_fstatfs64",
    "osf_getdirentries", "osf_getdomainname", "osf_getitimer", "osf_getrusage", "osf_getsysinfo",
    "osf_gettimeofday", "osf_lstat", "osf_mount", "osf_proplist_syscall", "osf_select",
    "osf_set_program_attributes", "osf_setitimer", "osf_setsysinfo", "osf_settimeofday",
    "osf_shmat", "osf_sigprocmask", "osf_sigstack", "osf_stat", "osf_statfs", "osf_statfs64",
    "osf_swapon", "osf_syscall", "osf_sysinfo", "osf_usleep_thread", "osf_utimes", "osf_utsname",
    "osf_wait4", "pause", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
    "perf_event_open", "perfctr", "personality", "pidfd_getfd", "pidfd_open", "pidfd_send_signal",
    "pipe", "pipe2", "pivot_root", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
    "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_madvise",
    "process_mrelease", "process_vm_readv", "process_vm_writev", "prof", "profil", "pselect6",
    "pselect6_time64", "ptrace", "putpmsg", "pwrite64", "pwritev", "pwritev2", "query_module",
    "quotactl", "quotactl_fd", "read", "readahead", "readdir", "readlink", "readlinkat", "readv",
    "reboot", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages",
    "removexattr", "removexattrat", "rename", "renameat", "renameat2", "request_key",
    "restart_syscall", "riscv_flush_icache", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction",
    "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend",
    "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "rtas",
    "s390_guarded_storage", "s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr",
    "s390_sthyi", "sched_get_affinity", "sched_get_priority_max", "sched_get_priority_min",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_getscheduler",
    "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_set_affinity",
    "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
    "seccomp", "security", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64",
    "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_mempolicy",
    "set_mempolicy_home_node", "set_robust_list", "set_thread_area", "set_tid_address", "set_tls",
    "setdomainname", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "sethae", "sethostname", "setitimer", "setns", "setpgid", "setpgrp",
    "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
    "setreuid", "setreuid32", "setrlimit", "setsid", "setsockopt", "settimeofday", "setuid",
    "setuid32", "setxattr", "setxattrat", "sgetmask", "shmat", "shmctl", "shmdt", "shmget",
    "shutdown", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4", "sigpending",
    "sigprocmask", "sigreturn", "sigsuspend", "socket", "socketcall", "socketpair", "splice",
    "spu_create", "spu_run", "ssetmask", "stat", "stat64", "statfs", "statfs64", "statmount",
    "statx", "stime", "stty", "subpage_prot", "swapcontext", "swapoff", "swapon", "switch_endian",
    "symlink", "symlinkat", "sync", "sync_file_range", "sync_file_range2", "syncfs",
    "sys_debug_setcontext", "syscall", "sysfs", "sysinfo", "syslog", "sysmips", "tee", "tgkill",
    "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
    "timer_settime", "timer_settime64", "timerfd", "timerfd_create", "timerfd_gettime",
    "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate",
    "truncate64", "tuxcall", "ugetrlimit", "ulimit", "umask", "umount", "umount2", "uname",
    "unlink", "unlinkat", "unshare", "uretprobe", "uselib", "userfaultfd", "usr26", "usr32",
    "ustat", "utime", "utimensat", "utimensat_time64", "utimes", "utrap_install", "vfork",
    "vhangup", "vm86", "vm86old", "vmsplice", "vserver", "wait4", "waitid", "waitpid", "write",
    "writev",
];

/// Every capability name systemd 257 knows, upper-case, sorted.
#[rustfmt::skip]
pub const CAPABILITIES: &[&str] = &[
    "CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_AUDIT_WRITE", "CAP_BLOCK_SUSPEND", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_KILL", "CAP_LEASE", "CAP_LINUX_IMMUTABLE",
    "CAP_MAC_ADMIN", "CAP_MAC_OVERRIDE", "CAP_MKNOD", "CAP_NET_ADMIN", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_RAW", "CAP_PERFMON", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
    "CAP_SETUID", "CAP_SYSLOG", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_CHROOT", "CAP_SYS_MODULE",
    "CAP_SYS_NICE", "CAP_SYS_PACCT", "CAP_SYS_PTRACE", "CAP_SYS_RAWIO", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_WAKE_ALARM",
];

/// Every architecture `SystemCallArchitectures=` accepts, sorted; `native` is accepted too
/// but is not listed.
#[rustfmt::skip]
pub const ARCHITECTURES: &[&str] = &[
    "arm", "arm64", "loongarch64", "mips", "mips-le", "mips64", "mips64-le", "mips64-le-n32",
    "mips64-n32", "parisc", "parisc64", "ppc", "ppc64", "ppc64-le", "riscv64", "s390", "s390x",
    "x32", "x86", "x86-64",
];

/// Every address family name `RestrictAddressFamilies=` accepts, sorted.
#[rustfmt::skip]
pub const ADDRESS_FAMILIES: &[&str] = &[
    "AF_ALG", "AF_APPLETALK", "AF_ASH", "AF_ATMPVC", "AF_ATMSVC", "AF_AX25", "AF_BLUETOOTH",
    "AF_BRIDGE", "AF_CAIF", "AF_CAN", "AF_DECnet", "AF_ECONET", "AF_FILE", "AF_IB", "AF_IEEE802154",
    "AF_INET", "AF_INET6", "AF_IPX", "AF_IRDA", "AF_ISDN", "AF_IUCV", "AF_KCM", "AF_KEY", "AF_LLC",
    "AF_LOCAL", "AF_MCTP", "AF_MPLS", "AF_NETBEUI", "AF_NETLINK", "AF_NETROM", "AF_NFC",
    "AF_PACKET", "AF_PHONET", "AF_PPPOX", "AF_QIPCRTR", "AF_RDS", "AF_ROSE", "AF_ROUTE", "AF_RXRPC",
    "AF_SECURITY", "AF_SMC", "AF_SNA", "AF_TIPC", "AF_UNIX", "AF_VSOCK", "AF_WANPIPE", "AF_X25",
    "AF_XDP",
];

/// Every errno name `SystemCallErrorNumber=` accepts, sorted; `kill` is accepted too but is
/// not listed.
#[rustfmt::skip]
pub const ERRNO_NAMES: &[&str] = &[
    "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EADV", "EAFNOSUPPORT", "EAGAIN", "EALREADY",
    "EBADE", "EBADF", "EBADFD", "EBADMSG", "EBADR", "EBADRQC", "EBADSLT", "EBFONT", "EBUSY",
    "ECANCELED", "ECHILD", "ECHRNG", "ECOMM", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET",
    "EDEADLK", "EDEADLOCK", "EDESTADDRREQ", "EDOM", "EDOTDOT", "EDQUOT", "EEXIST", "EFAULT",
    "EFBIG", "EHOSTDOWN", "EHOSTUNREACH", "EHWPOISON", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR",
    "EINVAL", "EIO", "EISCONN", "EISDIR", "EISNAM", "EKEYEXPIRED", "EKEYREJECTED", "EKEYREVOKED",
    "EL2HLT", "EL2NSYNC", "EL3HLT", "EL3RST", "ELIBACC", "ELIBBAD", "ELIBEXEC", "ELIBMAX",
    "ELIBSCN", "ELNRNG", "ELOOP", "EMEDIUMTYPE", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP",
    "ENAMETOOLONG", "ENAVAIL", "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOANO",
    "ENOBUFS", "ENOCSI", "ENODATA", "ENODEV", "ENOENT", "ENOEXEC", "ENOKEY", "ENOLCK", "ENOLINK",
    "ENOMEDIUM", "ENOMEM", "ENOMSG", "ENONET", "ENOPKG", "ENOPROTOOPT", "ENOSPC", "ENOSR", "ENOSTR",
    "ENOSYS", "ENOTBLK", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTNAM", "ENOTRECOVERABLE",
    "ENOTSOCK", "ENOTSUP", "ENOTTY", "ENOTUNIQ", "ENXIO", "EOPNOTSUPP", "EOVERFLOW", "EOWNERDEAD",
    "EPERM", "EPFNOSUPPORT", "EPIPE", "EPROTO", "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE",
    "EREMCHG", "EREMOTE", "EREMOTEIO", "ERESTART", "ERFKILL", "EROFS", "ESHUTDOWN",
    "ESOCKTNOSUPPORT", "ESPIPE", "ESRCH", "ESRMNT", "ESTALE", "ESTRPIPE", "ETIME", "ETIMEDOUT",
    "ETOOMANYREFS", "ETXTBSY", "EUCLEAN", "EUNATCH", "EUSERS", "EWOULDBLOCK", "EXDEV", "EXFULL",
];

/// Names in [`SYSCALLS`] that libseccomp cannot resolve on x86-64 (the
/// architecture of the hosts this targets): systemd 257 warns "System call
/// NAME is not known" for each, checked one by one with `systemd-analyze verify`.
#[rustfmt::skip]
pub const SYSCALLS_NOT_ON_X86_64: &[&str] = &[
    "arc_gettls", "arc_settls", "arc_usr_cmpxchg", "dipc", "exec_with_loader", "execv",
    "file_getattr", "file_setattr", "getdomainname", "getdtablesize", "gethostname", "getxgid",
    "getxpid", "getxuid", "kern_features", "llseek", "memory_ordering", "old_adjtimex",
    "oldumount", "or1k_atomic", "osf_fstat", "osf_fstatfs", "osf_fstatfs64",
    "osf_getdirentries", "osf_getdomainname", "osf_getitimer", "osf_getrusage",
    "osf_getsysinfo", "osf_gettimeofday", "osf_lstat", "osf_mount", "osf_proplist_syscall",
    "osf_select", "osf_set_program_attributes", "osf_setitimer", "osf_setsysinfo",
    "osf_settimeofday", "osf_shmat", "osf_sigprocmask", "osf_sigstack", "osf_stat",
    "osf_statfs", "osf_statfs64", "osf_swapon", "osf_syscall", "osf_sysinfo",
    "osf_usleep_thread", "osf_utimes", "osf_utsname", "osf_wait4", "perfctr",
    "sched_get_affinity", "sched_set_affinity", "sethae", "setpgrp", "utrap_install",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_unique(list: &[&str]) -> bool {
        list.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        let groups: Vec<&str> = SYSCALL_GROUPS.iter().map(|(g, _)| *g).collect();
        assert!(sorted_unique(&groups));
        for (_, members) in SYSCALL_GROUPS {
            assert!(sorted_unique(members));
        }
        for list in [
            SYSCALLS,
            CAPABILITIES,
            ARCHITECTURES,
            ADDRESS_FAMILIES,
            ERRNO_NAMES,
        ] {
            assert!(sorted_unique(list));
        }
    }

    #[test]
    fn nested_groups_exist() {
        for (_, members) in SYSCALL_GROUPS {
            for m in members.iter().filter(|m| m.starts_with('@')) {
                assert!(SYSCALL_GROUPS.iter().any(|(g, _)| g == m), "{m}");
            }
        }
    }

    #[test]
    fn counts() {
        assert_eq!(SYSCALL_GROUPS.len(), 30);
        assert_eq!(SYSCALLS.len(), 556);
        assert_eq!(CAPABILITIES.len(), 41);
        assert_eq!(ARCHITECTURES.len(), 20);
        assert_eq!(ADDRESS_FAMILIES.len(), 48);
        assert_eq!(ERRNO_NAMES.len(), 134);
    }
}
