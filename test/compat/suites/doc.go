// Package suites runs other people's S3 test suites (versitygw's tester,
// rclone's S3 backend tests, minio-go's functional tests) against a real
// sluice node and checks their results against the expected-results files
// in test/compat/*.expected. The suites are long: they are skipped under
// `go test -short`; `go test ./...` (the README's test command, run by CI)
// runs them.
package suites
