package engine

import "testing"

// Test helpers for the external test package (engine_test).

// ZipOfForTest zips files (name → content).
func ZipOfForTest(tb testing.TB, files map[string]string) []byte {
	m := make(map[string]zfile, len(files))
	for k, v := range files {
		m[k] = zfile{body: v}
	}
	return zipOf(tb, m)
}

// DeployForTest makes a Deployment of a zip.
var DeployForTest = deploy
