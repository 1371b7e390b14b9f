package engine

import (
	"encoding/json"
	"strconv"
	"time"
)

// The log lines Lambda frames each invocation with.

func appendStart(b []byte, id, version string) []byte {
	b = append(b, "START RequestId: "...)
	b = append(b, id...)
	b = append(b, " Version: "...)
	b = append(b, version...)
	return append(b, '\n')
}

func appendEnd(b []byte, id string) []byte {
	b = append(b, "END RequestId: "...)
	b = append(b, id...)
	return append(b, '\n')
}

// appendReport writes the REPORT line:
//
//	REPORT RequestId: <id>\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\tInit Duration: 12.34 ms\t
func appendReport(b []byte, id string, d time.Duration, billed int64, memoryMB int, maxUsedMB int, init time.Duration) []byte {
	b = append(b, "REPORT RequestId: "...)
	b = append(b, id...)
	b = append(b, "\tDuration: "...)
	b = appendMs(b, d)
	b = append(b, " ms\tBilled Duration: "...)
	b = strconv.AppendInt(b, billed, 10)
	b = append(b, " ms\tMemory Size: "...)
	b = strconv.AppendInt(b, int64(memoryMB), 10)
	b = append(b, " MB\tMax Memory Used: "...)
	b = strconv.AppendInt(b, int64(maxUsedMB), 10)
	b = append(b, " MB\t"...)
	if init > 0 {
		b = append(b, "Init Duration: "...)
		b = appendMs(b, init)
		b = append(b, " ms\t"...)
	}
	return append(b, '\n')
}

func appendMs(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// billedMs rounds up to the millisecond, at least 1.
func billedMs(d time.Duration) int64 {
	ms := int64((d + time.Millisecond - 1) / time.Millisecond)
	return max(ms, 1)
}

// mebibytes rounds up.
func mebibytes(b uint64) int {
	return int((b + 1<<20 - 1) >> 20)
}

// timestamp is the UTC timestamp format of Lambda's platform lines.
func timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// errorDoc is a Lambda error document.
func errorDoc(typ, msg string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{msg, typ})
	return b
}

// timeoutDoc is the payload of an invocation that timed out:
// {"errorMessage":"2024-05-01T12:00:00.000Z <id> Task timed out after 3.00 seconds"}.
func timeoutLine(at time.Time, id string, elapsed time.Duration) string {
	return timestamp(at) + " " + id + " Task timed out after " +
		strconv.FormatFloat(elapsed.Seconds(), 'f', 2, 64) + " seconds"
}

func timeoutDoc(line string) []byte {
	b, _ := json.Marshal(struct {
		Message string `json:"errorMessage"`
	}{line})
	return b
}
