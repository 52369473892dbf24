#!/bin/sh
# A step that never ends by itself: it writes its pid to $PID_FILE and
# sleeps, so tests can time it out or cancel it and check it is gone.
echo $$ > "$PID_FILE"
echo "hanging"
sleep 600 &
wait
