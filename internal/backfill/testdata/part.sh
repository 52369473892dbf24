#!/bin/sh
# A partition step: it prints its partition context, holds for $HOLD
# seconds, and fails when its key is listed in $FAIL_KEYS.
echo "context=$SERVO_PARTITION_CONTEXT"
sleep "${HOLD:-0}"
case " $FAIL_KEYS " in
*" $SERVO_PARTITION_KEY "*) exit 3 ;;
esac
exit 0
