#!/bin/sh
# INET'S RECOVERY SCRIPT (thesis §4.5), for `service up image:inet ... -recovery "rs/inet.sh DEPENDENTS..."`.
#
# RS runs it as:  /bin/sh inet.sh <label> <reason> <count> [dependent ...]
#   label      the network server's label (inet)
#   reason     why it failed (exit, exception, panic, terminated, no-heartbeat, ...)
#   count      its current failure count
#   dependent  labels of services that use INET's sockets (etc/rc: daytimed)
#
# What survives an INET crash: the drivers, and everything below them, are untouched; INET's
# configuration comes back with it (RS keeps its -config argument); INET re-attaches the drivers
# through DS and sends a gratuitous ARP, so neighbours keep reaching it. What does not: every
# socket — open TCP connections, listeners, UDP bindings — lived in INET's memory and is gone;
# programs blocked in a socket call get EDEADSRCDST from the kernel at once (an error, never a
# hang), and their peers see the connections time out or be reset. So the services that listen
# on INET are restarted after it, and they listen again on the new INET.
#
# A failure loop is cut by a backoff (1 s × 2^(count-1), at most 32 s) before the restart.
component=$1
reason=$2
repetition=$3
shift 3

if [ "$reason" != "update" ] && [ "$repetition" -gt 1 ] 2>/dev/null; then
    delay=$((1 << (repetition - 2)))
    [ "$delay" -gt 32 ] && delay=32
    sleep "$delay"
fi
service restart "$component"
status=$?
[ "$status" -eq 0 ] || exit "$status"

# The dependents lost their sockets with INET: start them over on the new INET.
for dependent in "$@"; do
    service restart "$dependent" || echo "inet.sh: restart of $dependent failed" >&2
done
exit 0
