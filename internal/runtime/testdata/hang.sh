#!/bin/sh
# A step that never ends by itself: it writes its pid to $PID_FILE and
# sleeps (600.$HANG_MARK seconds, so that tests can find the sleep in the
# host's process table), so tests can time it out or cancel it and check
# it is gone.
echo $$ > "$PID_FILE"
echo "hanging"
sleep "600.${HANG_MARK:-0}" &
wait
