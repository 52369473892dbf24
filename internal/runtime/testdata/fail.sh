#!/bin/sh
# A step that always fails, after saying so.
echo "failing on purpose (attempt context: $SERVO_PARTITION_CONTEXT)" >&2
exit 3
