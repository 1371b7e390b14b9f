package engine

// The test functions in testdata/gofunc are built with aws-lambda-go at
// test time; this import keeps the module in go.mod.
import _ "github.com/aws/aws-lambda-go/lambdacontext"
