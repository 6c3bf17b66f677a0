// Help texts, one per subcommand. Flag names follow util-linux (unshare, nsenter, lsns)
// and bubblewrap so that what users already know works here.

export const MAIN_HELP = `Usage: nsbind <command> [flags] [--] [CMD ARGS...]

Run programs inside Linux namespaces.

Commands:
  run      run a program in new namespaces (like unshare / bwrap)
  exec     run a program in the namespaces of a running process (like nsenter)
  ls       list the namespaces on this host (like lsns)
  netns    add, delete, list named network namespaces, and run in them (like ip netns)
  doctor   tell what this kernel and policy allow, and how to allow the rest
  bwrap    bubblewrap's command line, defaults and messages (nsbind bwrap ARGS...)

Flags:
  -h, --help       this help ('nsbind <command> --help' for a command's flags)
  -V, --version    the version

Exit status: the program's; 128+N when it was killed by signal N; 127 when it was not
found, 126 when it could not be executed; 125 for nsbind's own errors (bad flags, a
refused namespace, a failed mount), with the message on stderr.
`;

export const RUN_HELP = `Usage: nsbind run [flags] [--] CMD [ARGS...]

Run CMD in new namespaces. Flags apply in the order written (filesystem steps run in
that order). Without '--', the first word that is not a flag starts the command; write
'--' when an argument of the command is also an nsbind flag.

Namespaces (unshare's names; bwrap's --unshare-* work too):
  -U, --user         new user namespace (you are root inside: --map-root-user is the default)
  -p, --pid          new pid namespace (nsbind's init is PID 1, CMD is PID 2)
  -m, --mount        new mount namespace (/ made private first, see --propagation)
  -u, --uts          new UTS namespace          -i, --ipc      new IPC namespace
  -n, --net          new network namespace (lo up)
  -C, --cgroup       new cgroup namespace       -T, --time     new time namespace
      --all          every namespace type this kernel has
      --user-try, --pid-try, --mount-try, --uts-try, --ipc-try, --net-try,
      --cgroup-try, --time-try, --all-try
                     create it where the kernel and policy allow, else run without it
      --unshare-user, --unshare-pid, --unshare-uts, --unshare-ipc, --unshare-net,
      --unshare-cgroup   bwrap's names for the same (and --unshare-user-try,
                     --unshare-pid-try, --unshare-uts-try, --unshare-ipc-try,
                     --unshare-net-try, --unshare-cgroup-try)
      --unshare-all  bwrap's: user and cgroup where possible, pid ipc net uts always
      --share-net    keep the host's network (after --unshare-all)
  -f, --fork         accepted for unshare compatibility (nsbind always forks)
      --kill-child[=SIGKILL]  accepted: the sandbox always dies with nsbind
      --as-pid-1     CMD itself is PID 1 (no init), as with 'unshare --pid --fork'

User namespace:
  -r, --map-root-user        map your uid/gid to 0 inside (the default), setgroups denied
  -c, --map-current-user     map your uid/gid to themselves, setgroups denied
      --map-user UID|NAME, --uid UID   your uid as seen inside (unshare takes a user name too)
      --map-group GID|NAME, --gid GID  your gid as seen inside
      --map-users INNER:OUTER:COUNT    a uid range (repeatable; needs newuidmap unless root);
                                       OUTER,INNER,COUNT (util-linux 2.38's order) also works;
                                       'auto': your first /etc/subuid block, from 0 inside
      --map-groups INNER:OUTER:COUNT   a gid range (same forms)
      --map-auto                       --map-users=auto --map-groups=auto
      --map-subids                     your first subuid/subgid blocks onto the same ids
      --keep-caps                      keep the capabilities the user namespace grants
      --setgroups allow|deny
  -S, --setuid UID, -G, --setgid GID   credentials inside, set after the namespaces

Other namespace settings:
      --hostname NAME, --domainname NAME   (imply --uts)
      --allow-net PATTERN, --deny-net PATTERN   egress through nsbind's proxy only
            (implies --net; name, *.domain, name:port, address, CIDR, *; repeatable)
      --forward HOST:SANDBOX   host 127.0.0.1:HOST reaches the sandbox's 127.0.0.1:SANDBOX
      --expose SANDBOX:HOST    the sandbox's 127.0.0.1:SANDBOX reaches host 127.0.0.1:HOST
      --propagation slave|shared|private|unchanged   (implies --mount)
      --monotonic SECONDS, --boottime SECONDS        clock offsets (imply --time)

Filesystem (bwrap's names; each implies --mount):
      --mount-proc[=DIR]           a new /proc (or DIR) for the new pid namespace
      --bind SRC DEST, --ro-bind SRC DEST, --dev-bind SRC DEST
      --bind-try SRC DEST, --ro-bind-try SRC DEST, --dev-bind-try SRC DEST
                                   the same, skipped when SRC is missing
      --tmpfs DEST, --proc DEST, --dev DEST, --mqueue DEST, --dir DEST
      --symlink TARGET DEST, --remount-ro DEST
      --size BYTES, --perms OCTAL  for the next --tmpfs / --dir / --file / --bind-data
      --file FD DEST, --bind-data FD DEST, --ro-bind-data FD DEST
                                   a file with the contents read from descriptor FD
      --overlay-src SRC ... then --overlay RWSRC WORKDIR DEST, --tmp-overlay DEST or
                                   --ro-overlay DEST   (later sources on top, as bwrap)
  -R, --root DIR                   pivot_root into DIR (paths of later steps are inside it)
      --empty-root                 pivot_root into a fresh empty tmpfs (bwrap's starting point)
      --chroot DIR                 chroot into DIR (weaker than --root)
  -w, --wd DIR, --chdir DIR        working directory inside

File policy (one .files() step; repeatable; ~, relative paths and * / ** globs):
      --deny-read PATH             PATH reads empty; everything else stays readable
      --allow-write PATH           PATH stays writable; everything else is read-only
      --deny-write PATH            PATH stays read-only inside an allowed one
      --landlock                   require Landlock (fail where the kernel has none)

Process:
      --setenv VAR VALUE, --unsetenv VAR, --clearenv, -e, --env VAR=VALUE
      --clear-env                  start from an empty environment
      --whitelist-env VAR,VAR...   only these of nsbind's variables
      --argv0 VALUE                argv[0] of CMD
      --timeout SECONDS            then SIGKILL (the reason is printed on stderr)
      --rlimit NAME=SOFT[:HARD]    setrlimit (nofile=256, core=0, nproc=64:128, unlimited)
      --seccomp FD                 a compiled classic-BPF filter read from FD (replaces nsbind's)
      --seccomp-deny CALL,CALL...  refuse these system calls (EPERM), besides nsbind's filter
      --disable-userns, --assert-userns-disabled   accepted: nsbind's filter refuses them
      --cap-add CAP, --cap-drop CAP    capabilities kept (default none; ALL for every one)
      --die-with-parent            nsbind (and so its sandbox) ends when nsbind's parent does
      --new-session                accepted for bwrap compatibility (nsbind's default)
      --lock-file DEST             hold a read lock (fcntl) on DEST inside while the sandbox runs
      --pty, --no-pty              run on a new pseudo-terminal (default: when stdin and stdout are terminals)
      --no-new-session             stay in the caller's session and terminal (as unshare; no pty)

Resources (a cgroup beneath nsbind's own):
      --memory SIZE (256M), --memory-swap SIZE, --pids N, --cpus CORES, --cpu-weight N

Configuration and output:
      --config FILE.json     start from a sandbox's options (JSON of sb.options, as the
                             library writes it); must come first, later flags extend it
      --json-status-fd FD    write JSON lines to FD: {"child-pid", "isolation",
                             "namespaces"} once running, then {"exit-code", "code",
                             "signal", "reason", "usage"} at the end (bwrap's name)
  -h, --help

Exit status: CMD's; 128+N when killed by signal N; 127 not found; 126 not executable;
125 for nsbind's own errors.

Example:
  nsbind run --user --pid --mount-proc --uts --hostname box --net -- sh -c 'hostname; ps'
`;

export const EXEC_HELP = `Usage: nsbind exec --target PID [flags] [--] CMD [ARGS...]

Run CMD in namespaces of a running process (nsenter's flags).

  -t, --target PID       the process whose namespaces to enter
  -a, --all              all of its namespaces (the default when no type is given)
  -U, --user[=FILE]  -p, --pid[=FILE]  -m, --mount[=FILE]  -u, --uts[=FILE]
  -i, --ipc[=FILE]   -n, --net[=FILE]  -C, --cgroup[=FILE] -T, --time[=FILE]
                         enter that namespace of the target, or the one FILE names
                         (/proc/PID/ns/net, /run/netns/NAME, a bind-mounted nsfs file)
  -S, --setuid UID, -G, --setgid GID   credentials inside
  -w, --wd DIR           working directory inside
  -e, --env              the target's environment instead of ours
  -c, --join-cgroup      start CMD in the target's cgroup (every hierarchy on v1/hybrid)
  -F, --no-fork, --preserve-credentials   accepted for nsenter compatibility
  -h, --help

Exit status as for 'nsbind run'.
`;

export const LS_HELP = `Usage: nsbind ls [-t TYPE] [-p PID] [--json | --raw | --list | --tree[=owner|parent]] [-n] [-o LIST | --output-all]

List the namespaces on this host, one line each (like lsns), including namespaces held
only by a bind mount or an open file descriptor.

  -t, --type TYPE    only this type (user pid mnt uts ipc net cgroup time)
  -J, --json         lsns's JSON: {"namespaces":[{"ns","type","nprocs","pid","user","command"}]}
  -o, --output LIST  columns (NS TYPE PATH NPROCS PID PPID COMMAND UID USER NETNSID NSFS
                     PNS ONS; +LIST adds to the default ones; -t net adds NETNSID NSFS)
      --output-all   every column
  -p, --task PID     only the namespaces process PID is in (one line per type)
  -n, --noheadings   no header line
  -r, --raw          columns separated by one space, unaligned; spaces and other
                     unsafe characters in a value written as \\xHH (as lsns)
  -l, --list         a list (the default; --tree still draws a tree, as in lsns)
  -T, --tree[=REL]   a tree by owning user namespace (owner, the default) or parent
  -u, --notruncate   accepted: no column is ever truncated
  -W, --nowrap       accepted: no column is ever wrapped
  -h, --help
`;

export const NETNS_HELP = `Usage: nsbind netns add NAME
       nsbind netns delete NAME
       nsbind netns list [--json]
       nsbind netns exec NAME [--] CMD [ARGS...]

Named network namespaces in /run/netns, interchangeable with 'ip netns'.
'exec' runs CMD in the named network namespace only (unlike 'ip netns exec', it does
not remount /sys or bind /etc/netns/NAME).

  -J, --json    for list: [{"name": ...}], as 'ip -j netns list'
  -h, --help
`;

export const DOCTOR_HELP = `Usage: nsbind doctor [--json]

Tell what this machine allows: kernel version, each namespace type, unprivileged user
namespaces (and if refused, why and the exact setting that allows them), cgroups and
delegation, clone3, pidfd, time namespaces, mount_setattr, openat2, seccomp,
newuidmap/newgidmap and subuid ranges, and whether this is a container.

  -J, --json    the report as JSON (the object doctor() resolves to)
  -h, --help

Exit status: 0 (the report is the answer), 125 if it could not be made.
`;
