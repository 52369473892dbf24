#!/bin/sh
# A step that reports data-quality check results, as the servo SDK's quality
# module does: it writes $CHECK_RESULTS to the file Servo names in
# SERVO_CHECK_RESULTS_PATH ($CHECK_RESULTS_LATER from the second attempt on,
# counted in $COUNTER), or links that file to $LINK_TO.
echo "checks step $SERVO_ASSET_NAME"
if [ -n "$COUNTER" ]; then
	n=$(cat "$COUNTER" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" > "$COUNTER"
	if [ "$n" -ge 2 ]; then
		CHECK_RESULTS="$CHECK_RESULTS_LATER"
	fi
fi
if [ -n "$LINK_TO" ]; then
	ln -s "$LINK_TO" "$SERVO_CHECK_RESULTS_PATH"
fi
if [ -n "$CHECK_RESULTS" ]; then
	printf '%s\n' "$CHECK_RESULTS" > "$SERVO_CHECK_RESULTS_PATH"
fi
exit 0
