#!/bin/sh
# A step that succeeds: it prints its run context and appends its asset's
# name to $ORDER_FILE, so tests can see the order steps ran in.
echo "step $SERVO_ASSET_NAME tenant=$SERVO_TENANT_ID execution=$SERVO_EXECUTION_ID partition=$SERVO_PARTITION_KEY"
echo "context=$SERVO_PARTITION_CONTEXT"
if [ -n "$ORDER_FILE" ]; then
	echo "$SERVO_ASSET_NAME $SERVO_TENANT_ID $SERVO_EXECUTION_ID" >> "$ORDER_FILE"
fi
if [ -n "$HOLD" ]; then
	sleep "$HOLD"
fi
exit 0
