#!/bin/sh
# GENERIC RECOVERY SCRIPT (thesis Fig. 4.2), for `service up ... -recovery etc/rs/generic.sh`.
#
# RS runs it as:  /bin/sh generic.sh <label> <reason> <count> [-a address] [-b base_seconds]
#   label    the service that failed
#   reason   why: exit, exception, panic, terminated, no-heartbeat, init-timeout, complaint,
#            restart (refresh) or update
#   count    the service's current failure count (failures within RS's window)
#   -a addr  also raise a failure alert for addr; Bulkhead has no mail transport, so the alert
#            is appended as one line to $BULKHEAD_RUN/mail.log (or ./mail.log)
#   -b secs  base of the backoff (default 1): sleep base * 2^(count-1) seconds before the
#            restart; no backoff for an explicitly requested update
#
# The restart itself is `service restart <label>`: RS puts <run>/bin first on the PATH of
# the scripts it runs, where the `service` wrapper lives. The script's exit status is that of
# the restart; RS marks the service failed if the script ends without restarting it.
component=$1
reason=$2
repetition=$3
shift 3

address=""
base=1
while getopts a:b: option; do
    case $option in
        a) address=$OPTARG ;;
        b) base=$OPTARG ;;
        *) echo "generic.sh: usage: label reason count [-a address] [-b base_seconds]" >&2; exit 2 ;;
    esac
done

# RESTART WITH BINARY EXPONENTIAL BACKOFF
if [ "$reason" != "update" ] && [ "$repetition" -gt 0 ] 2>/dev/null; then
    sleep $((base << (repetition - 1)))
fi
service restart "$component"
status=$?

# OPTIONAL FAILURE ALERT
if [ -n "$address" ]; then
    echo "to=$address subject=\"Failure Alert\" failure: $component, $reason, $repetition; restart status: $status" \
        >> "${BULKHEAD_RUN:-.}/mail.log"
fi
exit $status
