#!/bin/sh
# Provisions a runtime container (scripts/systemd-runtime) as a left4me
# host with stand-in workloads, for the runtime tests. Runs inside the
# container as root. Arguments: the directory holding the two base units
# (left4me-server@.service, left4me-web.service) and the static i386
# busybox that stands in for srcds_linux.
#
# What matches the host: the base units, user and group left4me (uid and
# gid 980) shared by both units, /etc/left4me/{host,web}.env, the state
# tree under /var/lib/left4me with the web app's database, the overlay
# helper the server's +ExecStartPre= runs through nsenter, the sudo rule
# and helpers the web app uses. What stands in: srcds_run is a /bin/sh
# script shaped like Valve's (SIGINT trap, the binary run as a child,
# restart after a pause when it fails), srcds_linux is the i386 busybox,
# gunicorn is a shell script that uses the sudo helper once and then
# sleeps. Markers outside every bind (/tmp, /home, /dev, /var/cache, a
# System V shared memory segment) let probes tell a private view from the
# host's.
set -eu
units=$1
busybox=$2

state=/var/lib/left4me

# sudo resolves the host name; the root's /etc/hosts is the build host's.
printf '127.0.1.1 %s\n' "$(hostname)" >>/etc/hosts
config=/etc/left4me
libexec=/usr/local/libexec/left4me

groupadd --system --gid 980 left4me
useradd --system --uid 980 --gid 980 --home-dir "$state" --no-create-home \
    --shell /usr/sbin/nologin left4me

install -d -m 0755 "$config"
printf 'LEFT4ME_HOST=runtime-test\nLEFT4ME_PORT_RANGE_START=27000\nLEFT4ME_PORT_RANGE_END=27999\n' \
    >"$config/host.env"
chown root:left4me "$config/host.env"
chmod 0640 "$config/host.env"
# Secrets srcds must never see (Test 8 D1.b, D2.b).
printf 'SECRET_KEY=web-env-secret-d1b\nDATABASE=%s/left4me.db\n' "$state" >"$config/web.env"
chown root:left4me "$config/web.env"
chmod 0640 "$config/web.env"

install -d -m 0755 -o left4me -g left4me "$state" "$state/instances" "$state/overlays" \
    "$state/installation" "$state/installation/left4dead2" "$state/runtime" \
    "$state/.venv" "$state/.venv/bin"
printf 'left4me database: admin password hash d1a\n' >"$state/left4me.db"
chown left4me:left4me "$state/left4me.db"
chmod 0644 "$state/left4me.db"
for n in 1 2; do
    install -d -m 0755 -o left4me -g left4me "$state/instances/$n"
    printf 'L4D2_PORT=%s\nL4D2_ARGS=+map c1m1_hotel\nSTANDIN_SIGINT=die\n' "$((27015 + n))" \
        >"$state/instances/$n/instance.env"
done
# The instance runtimes are overlay mounts; their upper layers live on a
# tmpfs (an overlay's upper layer cannot be on the container's overlay root).
mount -t tmpfs -o mode=0755,uid=980,gid=980 left4me-runtime "$state/runtime"
# As on a host where the instances ran before: systemd 257 sets the unit's
# binds up even for the +ExecStartPre= that would create the directory.
install -d -m 0755 -o left4me -g left4me "$state/runtime/1" "$state/runtime/2"

install -m 0755 -o left4me -g left4me "$busybox" "$state/installation/srcds_linux"
cat >"$state/installation/srcds_run" <<'EOF'
#!/bin/sh
# Stand-in for Valve's srcds_run, reduced to what shapes a stop: a /bin/sh
# script that traps SIGINT to quit, runs the game binary as a child (not
# exec), restarts it after a pause when it exits non-zero, and on quit
# resets its SIGINT trap and signals itself.
cd "$(dirname "$0")"
quit() {
    echo "srcds_run: quit $1"
    trap - INT
    kill -INT $$
}
trap 'quit 0' INT
while true; do
    # bash only names the busybox applet (argv[0]); the process is srcds_linux.
    case ${STANDIN_SIGINT:-die} in
        quit) bash -c 'exec -a sh "$0" -c "trap \"exit 0\" INT; while :; do sleep 1; done"' ./srcds_linux ;;
        *) bash -c 'exec -a sleep "$0" 2147483647' ./srcds_linux ;;
    esac
    retval=$?
    [ "$retval" -eq 0 ] && break
    echo "srcds_run: srcds_linux exited with $retval; server restart in 10 seconds"
    sleep 10
done
quit 0
EOF
chown left4me:left4me "$state/installation/srcds_run"
chmod 0755 "$state/installation/srcds_run"

install -d -m 0755 /opt/left4me /opt/left4me/src /opt/left4me/src/l4d2web
printf '# the web app (stand-in)\n' >/opt/left4me/src/l4d2web/app.py
cat >"$state/.venv/bin/gunicorn" <<'EOF'
#!/bin/sh
# Stand-in for gunicorn: uses its sudo helper once from inside the unit
# (Test 10), then idles.
/usr/bin/sudo -n /usr/local/libexec/left4me/left4me-systemctl is-active left4me-web.service
echo "gunicorn stand-in: sudo helper exited $?"
exec sleep infinity
EOF
chown left4me:left4me "$state/.venv/bin/gunicorn"
chmod 0755 "$state/.venv/bin/gunicorn"

install -d -m 0755 "$libexec"
cat >"$libexec/left4me-overlay" <<'EOF'
#!/bin/sh
# left4me-overlay mount|umount N: the instance's game tree, an overlay of
# the installation with a writable upper layer.
set -eu
case ${2:-} in '' | *[!0-9]*) echo "usage: left4me-overlay mount|umount N" >&2; exit 2 ;; esac
base=/var/lib/left4me/runtime/$2
case $1 in
    mount)
        install -d -m 0755 -o left4me -g left4me "$base" "$base/upper" "$base/work" "$base/merged"
        mountpoint -q "$base/merged" ||
            mount -t overlay -o "lowerdir=/var/lib/left4me/installation,upperdir=$base/upper,workdir=$base/work" \
                "left4me-$2" "$base/merged"
        ;;
    umount)
        ! mountpoint -q "$base/merged" || umount "$base/merged"
        ;;
    *) echo "usage: left4me-overlay mount|umount N" >&2; exit 2 ;;
esac
EOF
cat >"$libexec/left4me-systemctl" <<'EOF'
#!/bin/sh
# The web app's systemctl helper (run through sudo): a few verbs on left4me units.
case ${1:-} in is-active | show | status | start | stop | restart) ;; *) echo "usage: left4me-systemctl VERB left4me-UNIT" >&2; exit 2 ;; esac
case ${2:-} in left4me-*) ;; *) echo "left4me-systemctl: only left4me units" >&2; exit 2 ;; esac
exec /usr/bin/systemctl "$@"
EOF
cat >"$libexec/left4me-journalctl" <<'EOF'
#!/bin/sh
# The web app's journalctl helper (run through sudo).
exec /usr/bin/journalctl "$@"
EOF
chmod 0755 "$libexec/left4me-overlay" "$libexec/left4me-systemctl" "$libexec/left4me-journalctl"
cat >/etc/sudoers.d/left4me <<EOF
left4me ALL=(root) NOPASSWD: $libexec/left4me-systemctl *, $libexec/left4me-journalctl *
EOF
chmod 0440 /etc/sudoers.d/left4me
visudo -cq

install -m 0644 "$units/left4me-server@.service" "$units/left4me-web.service" /etc/systemd/system/

# Markers outside every bind, visible on the host, for the probes.
printf 'host /tmp\n' >/tmp/left4me-probe-marker
chmod 0644 /tmp/left4me-probe-marker
install -d -m 0755 /home/left4me-probe
install -d -m 0755 -o left4me -g left4me /var/cache/left4me-probe
mknod -m 0666 /dev/left4me-probe c 1 3
ipcmk --shmem 4096 --mode 0644 >/dev/null

systemctl daemon-reload
